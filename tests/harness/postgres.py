"""Fresh PostgreSQL databases on the machine's server (127.0.0.1:5432, trust auth), dropped
afterwards, so runs and tests never share one."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

PG = "postgresql://postgres@127.0.0.1:5432"


@contextmanager
def fresh_database(label: str) -> Iterator[str]:
    """The URL of a new, empty database named after `label`; dropped on the way out."""
    name = f"chat_{label}_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:
        raise RuntimeError(
            f"PostgreSQL is needed on 127.0.0.1:5432 (scripts/ensure-services.sh): {error}"
        ) from error
    try:
        yield f"{PG}/{name}"
    finally:
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
