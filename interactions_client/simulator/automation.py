"""HTTP routes of triggers and webhooks, their control endpoints, and webhook events for
finished interactions.

Routes (``{v}`` = ``v1`` | ``v1beta`` | ``v1alpha``; JSON in snake_case, as the SDK's)::

    POST|GET           /{v}/triggers               (page_size, page_token)
    GET|PATCH|DELETE   /{v}/triggers/{id}          PATCH {display_name, status}
    POST|GET           /{v}/triggers/{id}/executions    POST runs it now
    POST|GET           /{v}/webhooks               (page_size, page_token)
    GET|PATCH|DELETE   /{v}/webhooks/{id}          PATCH (update_mask) {name, uri, …}
    POST               /{v}/webhooks/{id}:ping     /{v}/webhooks/{id}:rotateSigningSecret

Control (no auth): ``POST /_simulator/clock {"advance_seconds": n}`` moves the triggers'
clock and fires what became due; ``POST /_simulator/triggers/{id}:fire`` fires one as if
its time had come; ``GET /_simulator/webhooks/deliveries`` lists delivery attempts.
"""

from __future__ import annotations

import asyncio
import re

from . import cron
from .asgi import HttpRequest, Send, send_json
from .engine import Engine, RunOptions
from .errors import ApiError, bad_request
from .inputs import JSON
from .store import Record
from .triggers import TriggerRegistry, page
from .webhooks import STATUS_EVENTS, WebhookRegistry

_V = r"(?:v1|v1beta|v1alpha)"
_ROUTES = [
    ("triggers", re.compile(rf"^/{_V}/triggers/?$"), {"GET", "POST"}),
    ("trigger", re.compile(rf"^/{_V}/triggers/([^/:]+)$"), {"GET", "PATCH", "DELETE"}),
    ("executions", re.compile(rf"^/{_V}/triggers/([^/:]+)/executions/?$"), {"GET", "POST"}),
    ("webhooks", re.compile(rf"^/{_V}/webhooks/?$"), {"GET", "POST"}),
    ("webhook", re.compile(rf"^/{_V}/webhooks/([^/:]+)$"), {"GET", "PATCH", "DELETE"}),
    ("ping", re.compile(rf"^/{_V}/webhooks/([^/:]+):ping$"), {"POST"}),
    ("rotate", re.compile(rf"^/{_V}/webhooks/([^/:]+):rotateSigningSecret$"), {"POST"}),
]
_FIRE = re.compile(r"^/_simulator/triggers/([^/:]+):fire$")


def match(method: str, path: str) -> tuple[str, str] | None:
    """(route name, id or "") of an automation path, None for other paths; 405 on a bad
    method."""
    for name, pattern, methods in _ROUTES:
        found = pattern.match(path)
        if found:
            if method not in methods:
                raise ApiError(405, f"Method {method} is not allowed here.")
            return name, (found.group(1) if found.groups() else "")
    return None


def _object(request: HttpRequest) -> JSON:
    body = request.json() if request.body.strip() else {}
    if not isinstance(body, dict):
        raise bad_request("Invalid JSON payload received. Expected an object.")
    return body


class Automation:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.webhooks = WebhookRegistry()
        self.triggers = TriggerRegistry(launch=self._launch, check=self._check)
        self._watchers: set[asyncio.Task[None]] = set()

    def _check(self, body: JSON) -> None:
        self.engine.prepare(body)  # validates and plans; nothing starts

    def _launch(self, body: JSON) -> Record:
        """Start a trigger's run as a background interaction, paced like any other."""
        record = self.engine.prepare(body)
        pace = self.engine.config.background_seconds / max(1, Engine.delta_count(record))
        self.engine.start(record, RunOptions(pace=pace))
        self.watch(record)
        return record

    def watch(self, record: Record) -> None:
        """Publish the webhook event of ``record``'s end (background interactions)."""

        async def follow() -> None:
            await record.wait_finished()
            event = STATUS_EVENTS.get(record.status)
            if event is not None:
                self.webhooks.publish(event, {"id": record.id, "status": record.status})

        task = asyncio.get_running_loop().create_task(follow())
        self._watchers.add(task)
        task.add_done_callback(self._watchers.discard)

    async def handle(self, route: tuple[str, str], request: HttpRequest, send: Send) -> None:
        name, ident = route
        if name in ("triggers", "trigger", "executions"):
            result = self._trigger_route(name, ident, request)
        else:
            result = self._webhook_route(name, ident, request)
        await send_json(send, 200, result)

    def _trigger_route(self, name: str, ident: str, request: HttpRequest) -> JSON:
        method, triggers = request.method, self.triggers
        result: JSON
        if name == "triggers" and method == "POST":
            result = triggers.create(_object(request))
        elif name == "triggers":
            views = [t.view() for t in triggers.triggers.values()]
            result = page(views, "triggers", request.query)
        elif name == "trigger" and method == "GET":
            result = triggers.get(ident).view()
        elif name == "trigger" and method == "PATCH":
            result = triggers.update(ident, _masked(_object(request), request))
        elif name == "trigger":
            triggers.delete(ident)
            result = {}
        elif name == "executions" and method == "POST":
            trigger = triggers.get(ident)
            result = triggers.fire(trigger, triggers.now()).view()
        elif name == "executions":
            runs = [e.view() for e in reversed(triggers.get(ident).executions)]
            result = page(runs, "trigger_executions", request.query)
        return result

    def _webhook_route(self, name: str, ident: str, request: HttpRequest) -> JSON:
        method, hooks = request.method, self.webhooks
        result: JSON
        if name == "webhooks" and method == "POST":
            result = hooks.create(_object(request))
        elif name == "webhooks":
            result = page([h.view() for h in hooks.hooks.values()], "webhooks", request.query)
        elif name == "webhook" and method == "GET":
            result = hooks.get(ident).view()
        elif name == "webhook" and method == "PATCH":
            result = hooks.update(ident, _masked(_object(request), request))
        elif name == "webhook":
            hooks.delete(ident)
            result = {}
        elif name == "ping":
            result = hooks.ping(ident)
        else:
            result = hooks.rotate(ident, _object(request))
        return result

    async def control(self, request: HttpRequest, send: Send) -> bool:
        """Serve an automation control endpoint; False when the path is not one."""
        path, method = request.path.rstrip("/"), request.method
        fire = _FIRE.match(path)
        if path == "/_simulator/clock" and method == "POST":
            seconds = _object(request).get("advance_seconds", 0)
            if not isinstance(seconds, int | float) or seconds < 0:
                raise bad_request("'advance_seconds' must be a non-negative number.")
            fired = self.triggers.advance(float(seconds))
            now = self.triggers.now().isoformat()
            await send_json(send, 200, {"now": now, "fired": [e.view() for e in fired]})
        elif fire and method == "POST":
            trigger = self.triggers.get(fire.group(1))
            due = trigger.next_run or self.triggers.now()
            trigger.next_run = None  # this run happens now; the schedule goes on after it
            execution = self.triggers.fire(trigger, due)
            trigger.next_run = cron.next_run(trigger.cron, self.triggers.now(), trigger.tz)
            await send_json(send, 200, execution.view())
        elif path == "/_simulator/webhooks/deliveries" and method == "GET":
            await self.webhooks.drain()
            await send_json(send, 200, {"deliveries": list(self.webhooks.deliveries)})
        else:
            return False
        return True

    def clear(self) -> None:
        self.triggers.clear()
        self.webhooks.clear()


def _masked(body: JSON, request: HttpRequest) -> JSON:
    """The fields ``update_mask`` names (all given fields when there is no mask)."""
    mask = request.query.get("update_mask") or request.query.get("updateMask")
    if not mask:
        return body
    names = {m.strip() for m in mask.split(",")}
    return {k: v for k, v in body.items() if k in names}
