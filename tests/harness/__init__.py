"""One harness for every test and benchmark that needs the app or the simulator running for
real: Daphne and the standalone simulator as subprocesses, signed-in users, websocket
clients, free ports and a clean environment, and the headless Chromium of the browser tests.

- `environ`: `clean_environ`, `free_port`
- `servers`: `LiveServer`, `run_server`, `serving`, `start_daphne`, `server_env`, `kill`
- `simulator`: `Simulator`, `run_simulator` (`python -m interactions_client.simulator`)
- `accounts`: `sign_up`, `create_user`, `http_sign_in`, `query` (a live server's database)
- `sockets`: `LiveSocket` (sync) and `ws_connect` (asyncio), browser-like websockets
- `browser`: Chromium, the Playwright fixtures and hooks, and page helpers

Used by tests/e2e, tests/reliability, tests/security, tests/deploy and bench/. Nothing here
uses the pytest-django test database: each server has its own database under its VAR_DIR.
"""
