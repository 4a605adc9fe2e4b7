"""The triggers resource, `client.triggers`: agent interactions the API runs on a cron
schedule (create, get, list, iter, update, delete) and their executions (run, list,
iter). Request specs live in the shared base; the sync and async twins only do I/O.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ._paging import each_item, each_item_async
from ._request import NOT_GIVEN, RequestSpec, parse_json, parse_model, to_json
from .types.automation import Trigger, TriggerExecution, TriggerExecutionList, TriggerList

if TYPE_CHECKING:
    from ._client import AsyncClient, Client


def trigger_id(value: str) -> str:
    """``triggers/abc`` or ``abc`` → ``abc`` (refuses anything that is not one segment)."""
    short = value.removeprefix("triggers/")
    if not short or "/" in short or ":" in short:
        raise ValueError(f"not a trigger id: {value!r}")
    return short


def _page_params(page_size: int | None, page_token: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if page_size is not None:
        params["page_size"] = page_size
    if page_token:
        params["page_token"] = page_token
    return params


class _TriggersBase:
    @staticmethod
    def _create_spec(
        interaction: Mapping[str, Any], schedule: str, time_zone: str, options: dict[str, Any]
    ) -> RequestSpec:
        body = {"interaction": to_json(interaction), "schedule": schedule, "time_zone": time_zone}
        body.update({k: v for k, v in options.items() if v is not NOT_GIVEN})
        return RequestSpec("POST", "triggers", json=body, idempotent=False)

    @staticmethod
    def _get_spec(id: str) -> RequestSpec:
        return RequestSpec("GET", f"triggers/{trigger_id(id)}")

    @staticmethod
    def _list_spec(page_size: int | None, page_token: str | None) -> RequestSpec:
        return RequestSpec("GET", "triggers", params=_page_params(page_size, page_token))

    @staticmethod
    def _update_spec(id: str, display_name: Any, status: Any) -> RequestSpec:
        body = {
            k: v
            for k, v in (("display_name", display_name), ("status", status))
            if v is not NOT_GIVEN
        }
        return RequestSpec("PATCH", f"triggers/{trigger_id(id)}", json=body)

    @staticmethod
    def _delete_spec(id: str) -> RequestSpec:
        return RequestSpec("DELETE", f"triggers/{trigger_id(id)}")

    @staticmethod
    def _run_spec(id: str) -> RequestSpec:
        return RequestSpec(
            "POST", f"triggers/{trigger_id(id)}/executions", json={}, idempotent=False
        )

    @staticmethod
    def _executions_spec(id: str, page_size: int | None, page_token: str | None) -> RequestSpec:
        params = _page_params(page_size, page_token)
        return RequestSpec("GET", f"triggers/{trigger_id(id)}/executions", params=params)


class Triggers(_TriggersBase):
    def __init__(self, client: Client) -> None:
        self._client = client

    def create(
        self,
        *,
        interaction: Mapping[str, Any],
        schedule: str,
        time_zone: str,
        display_name: str = NOT_GIVEN,
        environment_id: str = NOT_GIVEN,
        execution_timeout_seconds: int = NOT_GIVEN,
        max_consecutive_failures: int = NOT_GIVEN,
    ) -> Trigger:
        """Run `interaction` (an agent create body) on the cron `schedule` in `time_zone`
        (IANA name); after `max_consecutive_failures` failed runs it turns to `error`."""
        options = {
            "display_name": display_name,
            "environment_id": environment_id,
            "execution_timeout_seconds": execution_timeout_seconds,
            "max_consecutive_failures": max_consecutive_failures,
        }
        response = self._client.send(self._create_spec(interaction, schedule, time_zone, options))
        return parse_model(Trigger, parse_json(response), response)

    def get(self, id: str) -> Trigger:
        response = self._client.send(self._get_spec(id))
        return parse_model(Trigger, parse_json(response), response)

    def list(self, *, page_size: int | None = None, page_token: str | None = None) -> TriggerList:
        response = self._client.send(self._list_spec(page_size, page_token))
        return parse_model(TriggerList, parse_json(response), response)

    def iter(self, *, page_size: int | None = None) -> Iterator[Trigger]:
        return each_item(
            lambda token: self.list(page_size=page_size, page_token=token),
            lambda page: page.triggers,
        )

    def update(self, id: str, *, display_name: str = NOT_GIVEN, status: str = NOT_GIVEN) -> Trigger:
        """Rename, pause (`status="paused"`) or resume (`"active"`) a trigger."""
        response = self._client.send(self._update_spec(id, display_name, status))
        return parse_model(Trigger, parse_json(response), response)

    def delete(self, id: str) -> None:
        self._client.send(self._delete_spec(id))

    def run(self, id: str) -> TriggerExecution:
        """Run the trigger now, outside its schedule."""
        response = self._client.send(self._run_spec(id))
        return parse_model(TriggerExecution, parse_json(response), response)

    def list_executions(
        self, id: str, *, page_size: int | None = None, page_token: str | None = None
    ) -> TriggerExecutionList:
        """One page of the trigger's runs, newest first."""
        response = self._client.send(self._executions_spec(id, page_size, page_token))
        return parse_model(TriggerExecutionList, parse_json(response), response)

    def iter_executions(
        self, id: str, *, page_size: int | None = None
    ) -> Iterator[TriggerExecution]:
        return each_item(
            lambda token: self.list_executions(id, page_size=page_size, page_token=token),
            lambda page: page.trigger_executions,
        )


class AsyncTriggers(_TriggersBase):
    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def create(
        self,
        *,
        interaction: Mapping[str, Any],
        schedule: str,
        time_zone: str,
        display_name: str = NOT_GIVEN,
        environment_id: str = NOT_GIVEN,
        execution_timeout_seconds: int = NOT_GIVEN,
        max_consecutive_failures: int = NOT_GIVEN,
    ) -> Trigger:
        options = {
            "display_name": display_name,
            "environment_id": environment_id,
            "execution_timeout_seconds": execution_timeout_seconds,
            "max_consecutive_failures": max_consecutive_failures,
        }
        spec = self._create_spec(interaction, schedule, time_zone, options)
        response = await self._client.send(spec)
        return parse_model(Trigger, parse_json(response), response)

    async def get(self, id: str) -> Trigger:
        response = await self._client.send(self._get_spec(id))
        return parse_model(Trigger, parse_json(response), response)

    async def list(
        self, *, page_size: int | None = None, page_token: str | None = None
    ) -> TriggerList:
        response = await self._client.send(self._list_spec(page_size, page_token))
        return parse_model(TriggerList, parse_json(response), response)

    def iter(self, *, page_size: int | None = None) -> AsyncIterator[Trigger]:
        return each_item_async(
            lambda token: self.list(page_size=page_size, page_token=token),
            lambda page: page.triggers,
        )

    async def update(
        self, id: str, *, display_name: str = NOT_GIVEN, status: str = NOT_GIVEN
    ) -> Trigger:
        response = await self._client.send(self._update_spec(id, display_name, status))
        return parse_model(Trigger, parse_json(response), response)

    async def delete(self, id: str) -> None:
        await self._client.send(self._delete_spec(id))

    async def run(self, id: str) -> TriggerExecution:
        response = await self._client.send(self._run_spec(id))
        return parse_model(TriggerExecution, parse_json(response), response)

    async def list_executions(
        self, id: str, *, page_size: int | None = None, page_token: str | None = None
    ) -> TriggerExecutionList:
        response = await self._client.send(self._executions_spec(id, page_size, page_token))
        return parse_model(TriggerExecutionList, parse_json(response), response)

    def iter_executions(
        self, id: str, *, page_size: int | None = None
    ) -> AsyncIterator[TriggerExecution]:
        return each_item_async(
            lambda token: self.list_executions(id, page_size=page_size, page_token=token),
            lambda page: page.trigger_executions,
        )
