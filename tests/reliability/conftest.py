"""Fault-injection tests reuse the chat fixtures of tests/app (the simulator on loopback as
upstream, signed-in users, websockets); live servers come from tests/harness."""

from __future__ import annotations

from tests.app.conftest import alice, bob, connect, simulator, upstream

__all__ = ["alice", "bob", "connect", "simulator", "upstream"]
