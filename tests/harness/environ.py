"""What a server started for tests or benchmarks inherits: a clean environment, a free port.

Shared by the test suites and bench/, so both scrub the same shell variables before
starting Daphne or the simulator.
"""

from __future__ import annotations

import os
import socket

# Anything in the developer's shell that would change what the server talks to or stores.
SCRUBBED_PREFIXES = ("GEMINI_", "GOOGLE_", "CHAT_", "SIMULATOR_", "UPSTREAM_")
SCRUBBED = frozenset(
    {
        "DATABASE_URL",
        "REDIS_URL",
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "CSRF_TRUSTED_ORIGINS",
        "DJANGO_SETTINGS_MODULE",
        "OPEN_SIGNUP",
        "DEBUG",
        "VAR_DIR",
        "LOG_LEVEL",
        "SECURE_COOKIES",
        "SECURE_SSL_REDIRECT",
    }
)


def clean_environ() -> dict[str, str]:
    """The current environment without the app's own configuration variables."""
    return {
        key: value
        for key, value in os.environ.items()
        if key not in SCRUBBED and not key.startswith(SCRUBBED_PREFIXES)
    }


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
