"""The ASGI application: routing, auth, fault injection, JSON and SSE responses."""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
import tempfile
import weakref
from pathlib import Path
from typing import Any

from .asgi import (
    HttpRequest,
    Message,
    Receive,
    Scope,
    Send,
    SimulatedDrop,
    read_head,
    read_request,
    send_error,
    send_json,
    send_truncated_json,
    sleep_unless_disconnected,
    sse_frame,
    start_sse,
    wait_disconnect,
)
from .automation import Automation
from .automation import match as match_automation
from .config import SimulatorConfig
from .engine import Engine, RunOptions, new_id
from .errors import ApiError, bad_request, not_found
from .faults import ONCE_DIRECTIVES, DirectiveMemory, Fault, FaultQueue, directive_fault
from .files import FileStore
from .inputs import JSON, find_directives, latest_user_text
from .mcp import run_mcp_tools
from .resources import Resources, Route, is_chunk
from .resources import match as match_resource
from .store import Record, Store
from .stores import StoreRegistry
from .uploads import Uploads

_log = logging.getLogger(__name__)
_ROUTE = re.compile(r"^/(v1|v1beta|v1alpha)/interactions(?:/([^/:]+))?(/cancel|:cancel)?/?$")


class SimulatorApp:
    """ASGI callable. ``faults``, ``requests`` and ``store`` are for tests to poke at."""

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.config = config or SimulatorConfig()
        self.store = Store()
        directory = Path(self.config.files_dir or tempfile.mkdtemp(prefix="simulator-files-"))
        directory.mkdir(parents=True, exist_ok=True)
        self.files_dir = directory
        # A directory we made goes at shutdown, or when the app is collected or Python exits
        # (an in-process simulator never sees a lifespan shutdown).
        self._remove_dir = (
            weakref.finalize(self, shutil.rmtree, directory, True)
            if self.config.files_dir is None
            else None
        )
        cfg = self.config
        self.files = FileStore(
            directory,
            cfg.file_ttl_seconds,
            cfg.video_processing_seconds,
            cfg.file_processing_seconds,
        )
        self.file_search_stores = StoreRegistry(directory, cfg.document_processing_seconds)
        self.uploads = Uploads(directory)
        self.resources = Resources(self.files, self.file_search_stores, self.uploads)
        self.engine = Engine(self.config, self.store, self.files, self.file_search_stores)
        self.automation = Automation(self.engine)
        self.faults = FaultQueue()
        self.directives = DirectiveMemory()
        self.requests: list[JSON] = []

    def reset(self) -> None:
        """Forget faults, fired directives, recorded requests and stored interactions."""
        self.faults.clear()
        self.directives.clear()
        self.requests.clear()
        self.store.clear()  # running generations just finish; they are no longer reachable
        self.files.clear()
        self.file_search_stores.clear()
        self.uploads.clear()
        self.automation.clear()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        head = read_head(scope)
        # An upload chunk goes from the socket to disk; everything else is read whole.
        request = head if is_chunk(head) else await read_request(scope, receive)
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            if request.path.startswith("/_simulator/"):
                await self._control(request, tracking_send)
            else:
                await self._api(request, receive, tracking_send)
        except ApiError as exc:
            await send_error(send, exc)
        except Exception as exc:
            if started or isinstance(exc, SimulatedDrop):
                raise
            # A simulator bug still answers in the API's error format, so clients under
            # test report it like any upstream 500 instead of choking on plain text.
            _log.exception("simulator error while handling %s %s", request.method, request.path)
            await send_error(send, ApiError(500, f"Simulator error: {exc!r}"))

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.engine.shutdown()
                self.uploads.clear()
                if self._remove_dir is not None:
                    self._remove_dir()
                await send({"type": "lifespan.shutdown.complete"})
                return

    # -- the Interactions API ----------------------------------------------------------

    def _record(self, request: HttpRequest) -> None:
        self.requests.append(
            {
                "method": request.method,
                "path": request.path,
                "query": dict(request.query),
                "headers": dict(request.headers),
                "json": request.json_or_none(),
            }
        )
        overflow = len(self.requests) - self.config.max_recorded_requests
        if overflow > 0:
            del self.requests[:overflow]

    def _auth(self, request: HttpRequest) -> None:
        key = request.headers.get("x-goog-api-key") or request.query.get("key")
        if not key:
            raise ApiError(
                401,
                "Method doesn't allow unregistered callers (callers without established "
                "identity). Please use API Key or other form of API consumer identity to "
                "call this API.",
            )
        if self.config.api_key is not None and key != self.config.api_key:
            raise ApiError(403, "API key not valid. Please pass a valid API key.")

    async def _api(self, request: HttpRequest, receive: Receive, send: Send) -> None:
        self._record(request)
        resource = match_resource(request.method, request.path)
        if resource is not None:
            await self._resource(resource, request, receive, send)
            return
        automation = match_automation(request.method, request.path)
        if automation is not None:
            self._auth(request)
            await self.automation.handle(automation, request, send)
            return
        match = _ROUTE.match(request.path)
        if not match:
            raise not_found(f"Unknown path {request.path!r}.")
        self._auth(request)
        interaction_id, cancel = match.group(2), match.group(3)
        route = self._route(request.method, interaction_id, cancel)
        body: Any = request.json() if route == "create" else None
        streaming = (
            route == "create"
            and isinstance(body, dict)
            and (body.get("stream") is True or request.query.get("alt") == "sse")
        ) or (route == "get" and request.flag("stream"))
        haystack = request.path + "\n" + request.body.decode("utf-8", "replace")
        fault = self.faults.take(route, streaming, haystack)
        if fault is not None and fault.kind == "status":
            raise fault.error()
        if fault is not None and fault.kind == "hang":
            if not await sleep_unless_disconnected(receive, fault.seconds):
                return
            fault = None
        if route == "create":
            await self._create(request, body, streaming, fault, receive, send)
        elif route == "get":
            await self._get(request, str(interaction_id), fault, receive, send)
        elif route == "cancel":
            record = await self.engine.cancel(str(interaction_id))
            await send_json(send, 200, record.view(with_input=True))
        else:
            self.engine.delete(str(interaction_id))
            await send_json(send, 200, {})

    async def _resource(
        self, route: Route, request: HttpRequest, receive: Receive, send: Send
    ) -> None:
        """Files API and file search stores (faults: route ``upload`` or ``files``)."""
        if not is_chunk(request):
            # An upload URL is its own credential: the SDK sends chunks without the key.
            self._auth(request)
        kind = "upload" if route.name.startswith("upload") else "files"
        query = "&".join(f"{k}={v}" for k, v in request.query.items())
        command = request.headers.get("x-goog-upload-command", "")
        haystack = f"{request.path}?{query}\nx-goog-upload-command: {command}"
        fault = self.faults.take(kind, False, haystack)
        if fault is not None and fault.kind == "status":
            raise fault.error()
        if fault is not None and fault.kind == "hang":
            if not await sleep_unless_disconnected(receive, fault.seconds):
                return
        drop = fault is not None and fault.kind == "drop"
        await self.resources.handle(route, request, receive, send, drop)

    @staticmethod
    def _route(method: str, interaction_id: str | None, cancel: str | None) -> str:
        allowed = {
            (False, False): {"POST": "create"},
            (True, False): {"GET": "get", "DELETE": "delete"},
            (True, True): {"POST": "cancel"},
        }[(interaction_id is not None, cancel is not None)]
        if method not in allowed:
            raise ApiError(405, f"Method {method} is not allowed here.")
        return allowed[method]

    async def _create(  # noqa: C901 (the simulator's request checks, in the wire spec's order)
        self,
        request: HttpRequest,
        body: Any,
        streaming: bool,
        fault: Fault | None,
        receive: Receive,
        send: Send,
    ) -> None:
        if not isinstance(body, dict):
            raise bad_request("Invalid JSON payload received. Expected an object.")
        directives = find_directives(latest_user_text(body.get("input")))
        if body.get("continuation_token") is not None:
            directives -= set(ONCE_DIRECTIVES)  # a continuation hop is not a new attempt
        fired = {
            d
            for d in directives & set(ONCE_DIRECTIVES)
            if self.directives.first_time(d, request.body)
        }
        for directive in ("429", "500", "503"):
            if directive in fired:
                cfg = self.config
                made = directive_fault(directive, cfg.directive_retry_after, cfg.hang_seconds)
                if made is not None:
                    raise made.error()
        if "hang" in fired and not await sleep_unless_disconnected(
            receive, self.config.hang_seconds
        ):
            return
        for directive in ("error", "drop"):
            if fault is None and directive in fired:
                fault = directive_fault(directive, 0, 0)
        # MCP servers are called over the network, so before planning (which is sync).
        mcp = await run_mcp_tools(body, new_id, self.config.mcp_timeout_seconds)
        record = self.engine.prepare(body, mcp)
        options = RunOptions()
        if record.background:
            options.pace = self.config.background_seconds / max(1, Engine.delta_count(record))
        elif streaming and self.config.tokens_per_second:
            options.pace = 1.0 / self.config.tokens_per_second
        if "slow" in directives:
            options.pace = max(options.pace, self.config.slow_seconds_per_token)
        if fault is not None and fault.kind == "error_event":
            options.fail_after = max(1, fault.after_events)
        self.engine.start(record, options)
        if record.background:
            self.automation.watch(record)  # its end goes to the webhooks
        drop = fault.after_events if fault is not None and fault.kind == "drop" else None
        if streaming:
            await self._stream(record, 0, drop, receive, send)
            return
        if not record.background:
            await record.wait_finished()
        if drop is not None:
            await send_truncated_json(send, record.view())
            raise SimulatedDrop("connection dropped mid-response (fault injection)")
        await send_json(send, 200, record.view())

    async def _get(
        self,
        request: HttpRequest,
        interaction_id: str,
        fault: Fault | None,
        receive: Receive,
        send: Send,
    ) -> None:
        record = self.store.get(interaction_id)
        if record is None:
            raise not_found(f"Interaction '{interaction_id}' was not found.")
        if not request.flag("stream"):
            view = record.view(with_input=True, include_input=request.flag("include_input"))
            await send_json(send, 200, view)
            return
        start = 0
        last = request.query.get("last_event_id")
        if last:
            index = record.event_index(last)
            if index is None:
                raise bad_request(f"Unknown last_event_id {last!r}.")
            start = index + 1
        drop = fault.after_events if fault is not None and fault.kind == "drop" else None
        await self._stream(record, start, drop, receive, send)

    async def _stream(
        self, record: Record, start: int, drop: int | None, receive: Receive, send: Send
    ) -> None:
        """Send the log from ``start`` and tail it live; a client leaving stops only this."""
        await start_sse(send)
        position, sent = start, 0
        gone = asyncio.ensure_future(wait_disconnect(receive))
        try:
            while True:
                while position < len(record.events):
                    frame = sse_frame(record.events[position])
                    position += 1
                    await send({"type": "http.response.body", "body": frame, "more_body": True})
                    sent += 1
                    if drop is not None and sent >= drop:
                        raise SimulatedDrop("connection dropped mid-stream (fault injection)")
                if record.finished:
                    break
                waiter = asyncio.ensure_future(record.wait_past(position))
                await asyncio.wait({waiter, gone}, return_when=asyncio.FIRST_COMPLETED)
                if gone.done():
                    waiter.cancel()
                    return
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            gone.cancel()

    # -- control endpoints (no auth) ---------------------------------------------------

    async def _control(self, request: HttpRequest, send: Send) -> None:
        path, method = request.path.rstrip("/"), request.method
        if path == "/_simulator/health" and method == "GET":
            await send_json(send, 200, {"status": "ok", "stored": len(self.store)})
        elif path == "/_simulator/faults" and method == "POST":
            data = request.json()
            items = data.get("faults") if isinstance(data, dict) and "faults" in data else data
            faults = [
                Fault.from_json(item) for item in (items if isinstance(items, list) else [items])
            ]
            for fault in faults:
                self.faults.push(fault)
            await send_json(send, 200, {"faults": [f.to_json() for f in self.faults.pending()]})
        elif path == "/_simulator/faults" and method == "GET":
            await send_json(send, 200, {"faults": [f.to_json() for f in self.faults.pending()]})
        elif path == "/_simulator/faults" and method == "DELETE":
            self.faults.clear()
            self.directives.clear()
            await send_json(send, 200, {})
        elif path == "/_simulator/requests" and method == "GET":
            await send_json(send, 200, {"requests": list(self.requests)})
        elif path == "/_simulator/requests" and method == "DELETE":
            self.requests.clear()
            await send_json(send, 200, {})
        elif path == "/_simulator/files/expire" and method == "POST":
            data = request.json() or {}
            name = data.get("name") if isinstance(data, dict) else None
            file_id = str(name).removeprefix("files/") if name else None
            await send_json(send, 200, {"expired": self.files.expire(file_id)})
        elif path == "/_simulator/reset" and method == "POST":
            self.reset()
            await send_json(send, 200, {})
        elif not await self.automation.control(request, send):
            raise not_found(f"Unknown simulator control endpoint {method} {path}.")


def create_app(config: SimulatorConfig | None = None) -> SimulatorApp:
    return SimulatorApp(config)
