"""``python -m interactions_client.simulator`` — serve the simulator with uvicorn."""

from __future__ import annotations

import argparse

import uvicorn

from .app import create_app
from .config import SimulatorConfig
from .server import hide_simulated_drops


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m interactions_client.simulator",
        description="Offline, deterministic simulator of the Gemini Interactions API.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--tokens-per-second", type=float, default=None)
    parser.add_argument("--background-seconds", type=float, default=1.0)
    parser.add_argument("--hop-chars", type=int, default=1500)
    parser.add_argument("--api-key", default=None, help="accept only this x-goog-api-key")
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    config = SimulatorConfig(
        api_key=args.api_key,
        tokens_per_second=args.tokens_per_second,
        background_seconds=args.background_seconds,
        hop_chars=args.hop_chars,
    )
    hide_simulated_drops()
    uvicorn.run(
        create_app(config),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        timeout_graceful_shutdown=3,
    )


if __name__ == "__main__":
    main()
