"""Creating interactions from request bodies and running their generation tasks.

Generation runs as its own asyncio task that appends to the interaction's event log, so it
finishes even when the HTTP client that started it goes away.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from dataclasses import dataclass

from . import model, research, tools
from .config import SimulatorConfig
from .errors import bad_request, failed_precondition, not_found
from .events import step_events
from .files import FileStore
from .inputs import JSON, Context, find_directives, normalize_input, step_text
from .model import Draft, Plan, Request
from .signing import Signer, digest
from .store import Record, Store
from .stores import StoreRegistry

_log = logging.getLogger(__name__)


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(12)}"


@dataclass
class RunOptions:
    pace: float = 0.0  # seconds per delta event
    fail_after: int | None = None  # emit an `error` event after this many events


class Engine:
    def __init__(
        self, config: SimulatorConfig, store: Store, files: FileStore, stores: StoreRegistry
    ) -> None:
        self.config = config
        self.store = store
        self.files = files
        self.file_search_stores = stores
        self.signer = Signer(config.secret or secrets.token_bytes(32))

    # -- validation and planning -------------------------------------------------------

    def prepare(self, body: JSON, mcp_calls: list[tuple[JSON, JSON]] | None = None) -> Record:
        """Validate a create body and plan its steps (raises ApiError); nothing runs yet.

        ``mcp_calls`` are the (call, result) steps of the ``mcp_server`` tools, made before."""
        has_model, has_agent = bool(body.get("model")), bool(body.get("agent"))
        if has_model == has_agent:
            raise bad_request("Exactly one of 'model' or 'agent' must be set.")
        if research.is_deep_research(body.get("agent")):
            research.check(body)
        stored = body.get("store") is not False
        background = body.get("background") is True
        if background and not stored:
            raise bad_request("'background' requires 'store' to be true.")
        history, previous = self._previous(body)
        token_state = self._token_state(body.get("continuation_token"))
        raw_input = body.get("input")
        if raw_input is None and token_state is None:
            raise bad_request("'input' is required.")
        input_steps = normalize_input(raw_input) if raw_input is not None else []
        latest = [s for s in input_steps if s.get("type") == "user_input"]
        directives = find_directives(step_text(latest[-1])) if latest else set()
        owner: Record | None = None
        if token_state is not None and token_state.get("i"):
            owner = self.store.get(str(token_state["i"]))
            if owner is None:
                raise not_found("The interaction that issued this continuation_token is gone.")
            if previous is not None and previous.id != owner.id:
                raise bad_request("continuation_token belongs to a different interaction.")
            if previous is None:
                history = owner.history()
        parent = previous or owner
        self._check_inputs(history, input_steps)
        ctx = Context(history, input_steps, self._system_instruction(body), directives)
        ctx.media_notes = self._file_notes(input_steps)
        record = Record(
            id=new_id("v1"),
            owner_key="model" if has_model else "agent",
            owner=str(body.get("model") or body.get("agent")),
            stored=stored,
            background=background,
            input_steps=input_steps,
            parent=parent,
            input_raw=raw_input,
            previous_interaction_id=previous.id if previous else None,
            environment_id=self._environment(body),
            agent_config=body.get("agent_config"),
        )
        req = Request(
            body, ctx, body.get("model"), body.get("agent"), record.environment_id, background
        )
        req.passages = self._file_search(body, ctx)
        req.mcp_calls = mcp_calls or []
        if token_state is None:
            draft, offset = model.draft(req, self.signer, new_id), 0
        else:
            draft = owner.draft if owner and owner.draft else model.draft(req, self.signer, new_id)
            offset = self._check_token(token_state, draft, owner)
        self._plan(record, req, draft, offset)
        return record

    def _previous(self, body: JSON) -> tuple[list[JSON], Record | None]:
        prev_id = body.get("previous_interaction_id")
        if prev_id is None:
            return [], None
        previous = self.store.get(str(prev_id))
        if previous is None:
            raise not_found(
                f"Interaction '{prev_id}' was not found (unknown, deleted or unstored)."
            )
        if not previous.finished:
            raise failed_precondition(f"Interaction '{prev_id}' is still running.")
        return previous.history(), previous

    def _token_state(self, token: object) -> JSON | None:
        if token is None:
            return None
        state = self.signer.read_continuation_token(token)
        if state is None:
            raise bad_request("Invalid continuation_token.")
        return state

    def _check_token(self, state: JSON, draft: Draft, owner: Record | None) -> int:
        text_step = draft.text_step
        text = draft.steps[text_step]["content"][0]["text"] if text_step is not None else ""
        offset = state.get("o")
        if state.get("d") != digest(text) or not isinstance(offset, int):
            raise bad_request("continuation_token does not match this request.")
        if owner is not None and owner.next_offset != offset:
            raise bad_request("continuation_token is stale.")
        return offset

    def _check_inputs(self, history: list[JSON], steps: list[JSON]) -> None:
        call_ids = {s.get("id") for s in history if s.get("type") == "function_call"}
        for step in steps:
            kind = step.get("type")
            if kind == "thought" and not self.signer.verify_thought_signature(
                step.get("signature")
            ):
                raise bad_request("Corrupted thought signature.")
            if kind == "function_call":
                call_ids.add(step.get("id"))
            if kind == "function_result" and step.get("call_id") not in call_ids:
                raise bad_request(
                    f"function_result call_id {step.get('call_id')!r} does not match any "
                    "function_call in this conversation."
                )

    def _file_search(self, body: JSON, ctx: Context) -> list[JSON] | None:
        """Passages for the ``file_search`` tool (searched now; unknown stores → 404)."""
        tool = tools.file_search_tool(body)
        if tool is None or ctx.pending_results():
            return None
        hits = self.file_search_stores.search(
            tool["file_search_store_names"],
            ctx.prompt(),
            tool.get("top_k", 5),
            tool.get("metadata_filter"),
        )
        return [
            {
                "store": hit.document.store_name,
                "document": hit.document.name,
                "file_name": hit.document.display_name,
                "media_id": hit.document.media_name,
                "page_number": hit.chunk.page,
                "text": hit.chunk.text,
                "custom_metadata": hit.document.metadata_dict(),
            }
            for hit in hits
        ]

    def _file_notes(self, steps: list[JSON]) -> dict[str, str]:
        """Descriptions of the Files API files this input names; unusable files → API error."""
        notes: dict[str, str] = {}
        for step in steps:
            for item in step.get("content") or []:
                uri = item.get("uri") if isinstance(item, dict) else None
                if not isinstance(uri, str) or uri in notes:
                    continue
                stored = self.files.resolve(uri)
                if stored is not None:
                    notes[uri] = self.files.describe(stored, str(item.get("type")))
        return notes

    @staticmethod
    def _system_instruction(body: JSON) -> str | None:
        value = body.get("system_instruction")
        if value is not None and not isinstance(value, str):
            raise bad_request("'system_instruction' must be a string in this API revision.")
        return value

    @staticmethod
    def _environment(body: JSON) -> str | None:
        env = body.get("environment")
        if isinstance(env, str):
            return new_id("env") if env == "remote" else env
        if isinstance(env, dict):
            given = env.get("environment_id")
            return given if isinstance(given, str) and given else new_id("env")
        return None

    def _plan(self, record: Record, req: Request, draft: Draft, offset: int) -> None:
        hop_chars = None if record.background or req.agent else self.config.hop_chars

        def token(next_offset: int, text_digest: str) -> str:
            owner = record.id if record.stored else ""
            state = {"o": next_offset, "d": text_digest, "i": owner}
            return self.signer.continuation_token(state)

        steps, status, cont, next_offset = model.split_hop(draft, offset, hop_chars, token)
        usage = model.usage_for(steps, req.ctx.input_tokens(), draft.thought_tokens)
        record.draft, record.next_offset = draft, next_offset
        record.plan = Plan(steps, status, usage, draft.errors, cont)

    # -- running -----------------------------------------------------------------------

    @staticmethod
    def delta_count(record: Record) -> int:
        steps = record.plan.steps if record.plan else []
        return sum(
            1
            for index, step in enumerate(steps)
            for event in step_events(index, step)
            if event["event_type"] == "step.delta"
        )

    def start(self, record: Record, options: RunOptions) -> None:
        queued = record.background and self.config.queued_seconds > 0
        record.status = "queued" if queued else "in_progress"
        self.store.add(record)
        self.store.running.add(record)
        record.task = asyncio.get_running_loop().create_task(self._run(record, options))

    async def _run(self, record: Record, options: RunOptions) -> None:
        plan = record.plan
        if plan is None:
            raise RuntimeError("start() needs a planned record")
        queued = record.status == "queued"
        try:
            self._emit(
                record, options, {"event_type": "interaction.created", "interaction": record.head()}
            )
            if queued:
                await asyncio.sleep(self.config.queued_seconds)
                record.status = "in_progress"
            self._emit(
                record,
                options,
                {
                    "event_type": "interaction.status_update",
                    "interaction_id": record.id,
                    "status": "in_progress",
                },
            )
            for index, step in enumerate(plan.steps):
                for event in step_events(index, step):
                    if event["event_type"] == "step.delta" and options.pace > 0:
                        await asyncio.sleep(options.pace)
                    else:
                        await asyncio.sleep(0)
                    if record.finished:
                        return
                    self._emit(record, options, event)
            if record.finished:
                return
            record.usage = plan.usage
            record.errors = plan.errors
            record.continuation_token = plan.continuation_token
            record.finish(plan.status)
            record.append(
                {"event_type": "interaction.completed", "interaction": self._final_head(record)}
            )
        except asyncio.CancelledError:
            # Cancellation is the API's `cancel` (or shutdown), not an error of this task:
            # record it in the log and end normally so awaiting callers see the final state.
            self._cancelled(record)
        except Exception as exc:  # a simulator bug must still end the streams tailing us
            _log.exception("generation of %s crashed", record.id)
            self._fail(record, {"code": "internal", "message": f"Simulator error: {exc!r}"})
        finally:
            self.store.running.discard(record)

    def _emit(self, record: Record, options: RunOptions, payload: JSON) -> None:
        if record.finished:
            return
        record.append(payload)
        if options.fail_after is not None and len(record.events) >= options.fail_after:
            self._fail(record, {"code": "internal", "message": "Simulated mid-stream failure."})

    def _fail(self, record: Record, error: JSON) -> None:
        if record.finished:
            return
        record.errors = [error]
        record.usage = self._partial_usage(record)
        record.finish("failed")
        record.append({"event_type": "error", "error": error})

    @staticmethod
    def _partial_usage(record: Record) -> JSON:
        plan = record.plan
        input_tokens = plan.usage["total_input_tokens"] if plan else 0
        thought = plan.usage.get("total_thought_tokens", 0) if plan else 0
        return model.usage_for(record.steps, input_tokens, thought)

    def _final_head(self, record: Record) -> JSON:
        head = record.head()
        for key in ("usage", "continuation_token", "errors", "environment_id"):
            value = getattr(record, key)
            if value is not None:
                head[key] = value
        return head

    def _cancelled(self, record: Record) -> None:
        if record.finished:
            return
        if not record.events:  # cancelled before the task ever ran
            record.append({"event_type": "interaction.created", "interaction": record.head()})
        for index in sorted(record.folder.open):
            record.append({"event_type": "step.stop", "index": index})
        record.usage = self._partial_usage(record)
        record.finish("cancelled")
        record.append(
            {"event_type": "interaction.completed", "interaction": self._final_head(record)}
        )

    async def cancel(self, interaction_id: str) -> Record:
        record = self._existing(interaction_id)
        if record.finished:
            raise failed_precondition(f"Interaction is already {record.status}.")
        if not record.background:
            raise failed_precondition("Only background interactions can be cancelled.")
        if record.task is not None:
            record.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await record.task
        self._cancelled(record)
        return record

    def delete(self, interaction_id: str) -> None:
        record = self._existing(interaction_id)
        self.store.delete(interaction_id)
        if record.task is not None and not record.finished:
            record.task.cancel()
            self._cancelled(record)  # now, so streams attached to it end right away
            self.store.running.discard(record)

    def _existing(self, interaction_id: str) -> Record:
        record = self.store.get(interaction_id)
        if record is None:
            raise not_found(f"Interaction '{interaction_id}' was not found.")
        return record

    def shutdown(self) -> None:
        for record in list(self.store.running):
            if record.task is not None:
                record.task.cancel()
