"""Fault injection in the simulator: queued faults and prompt directives."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from interactions_client.simulator import Fault, SimulatorConfig, serve
from interactions_client.simulator.server import RunningSimulator

MODEL = "gemini-3.5-flash"
KEY = {"x-goog-api-key": "test-key"}
JSON = dict[str, Any]


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSimulator]:
    config = SimulatorConfig(
        hang_seconds=0.3, directive_retry_after=0.25, slow_seconds_per_token=0.02
    )
    with serve(config) as running:
        yield running


@pytest.fixture()
def http(sim: RunningSimulator) -> Iterator[httpx.Client]:
    sim.app.faults.clear()
    with httpx.Client(base_url=sim.base_url, headers=KEY, timeout=10) as client:
        yield client


def body(prompt: str, **extra: Any) -> JSON:
    return {"model": MODEL, "input": prompt, **extra}


def sse_events(raw: str) -> list[JSON]:
    return [json.loads(line[6:]) for line in raw.splitlines() if line.startswith("data: ")]


def read_until_error(response: httpx.Response) -> tuple[list[JSON], Exception | None]:
    raw = b""
    try:
        for chunk in response.iter_raw():
            raw += chunk
    except httpx.HTTPError as exc:
        return sse_events(raw.decode()), exc
    return sse_events(raw.decode()), None


def wait_done(http: httpx.Client, interaction_id: str) -> JSON:
    deadline = time.monotonic() + 5
    while True:
        got: JSON = http.get(f"/v1/interactions/{interaction_id}").json()
        if got["status"] not in ("in_progress", "queued") or time.monotonic() > deadline:
            return got
        time.sleep(0.02)


# -- queued faults --------------------------------------------------------------------


def test_status_fault_with_retry_hints_fires_n_times(
    sim: RunningSimulator, http: httpx.Client
) -> None:
    sim.app.faults.push(
        Fault(kind="status", status=429, retry_after=1.0, retry_after_ms=250, times=2)
    )
    for _ in range(2):
        response = http.post("/v1/interactions", json=body("hi"))
        assert response.status_code == 429
        assert response.headers["retry-after"] == "1"
        assert response.headers["retry-after-ms"] == "250"
        assert response.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
        assert response.json()["error"]["code"] == 429
    assert http.post("/v1/interactions", json=body("hi")).status_code == 200


def test_fault_routes_and_filters(sim: RunningSimulator, http: httpx.Client) -> None:
    sim.app.faults.push(Fault(status=503, route="get"))
    sim.app.faults.push(Fault(status=500, route="create", stream=True))
    sim.app.faults.push(Fault(status=502, route="any", match="needle"))
    created = http.post("/v1/interactions", json=body("plain")).json()
    assert http.post("/v1/interactions", json=body("a needle")).status_code == 502
    assert http.get(f"/v1/interactions/{created['id']}").status_code == 503
    assert http.get(f"/v1/interactions/{created['id']}").status_code == 200
    streamed = http.post("/v1/interactions", json=body("x", stream=True))
    assert streamed.status_code == 500 and streamed.json()["error"]["status"] == "INTERNAL"
    with pytest.raises(ValueError):
        Fault(kind="explode")  # type: ignore[arg-type]


def test_faults_over_http(sim: RunningSimulator, http: httpx.Client) -> None:
    control = f"{sim.base_url}/_simulator/faults"
    pushed = httpx.post(control, json=[{"kind": "status", "status": 503, "retry_after": 0.5}])
    assert pushed.status_code == 200 and pushed.json()["faults"][0]["status"] == 503
    response = http.post("/v1/interactions", json=body("x"))
    assert response.status_code == 503 and response.headers["retry-after"] == "0.5"
    httpx.post(control, json={"faults": [{"status": 500, "times": 3}]})
    assert len(httpx.get(control).json()["faults"]) == 1
    assert httpx.delete(control).json() == {}
    assert httpx.get(control).json()["faults"] == []
    assert httpx.post(control, json={"kind": "nope"}).status_code == 400
    assert httpx.post(control, json={"bogus": 1}).status_code == 400


def test_hang_fault_delays_then_answers(sim: RunningSimulator, http: httpx.Client) -> None:
    sim.app.faults.push(Fault(kind="hang", seconds=0.3))
    started = time.monotonic()
    assert http.post("/v1/interactions", json=body("x")).status_code == 200
    assert time.monotonic() - started >= 0.3
    sim.app.faults.push(Fault(kind="hang", seconds=30))
    with pytest.raises(httpx.ReadTimeout):
        http.post("/v1/interactions", json=body("x"), timeout=0.2)


def test_error_event_fails_the_interaction(sim: RunningSimulator, http: httpx.Client) -> None:
    sim.app.faults.push(Fault(kind="error_event", after_events=5))
    with http.stream("POST", "/v1/interactions", json=body("x", stream=True)) as response:
        events, error = read_until_error(response)
    assert error is None
    assert len(events) == 6 and events[-1]["event_type"] == "error"
    assert events[-1]["error"]["code"] == "internal" and events[-1]["event_id"] == "evt_6"
    failed = http.get(f"/v1/interactions/{events[0]['interaction']['id']}").json()
    assert failed["status"] == "failed" and failed["errors"][0]["code"] == "internal"


def test_drop_fault_aborts_the_stream_but_not_generation(
    sim: RunningSimulator, http: httpx.Client
) -> None:
    sim.app.faults.push(Fault(kind="drop", after_events=4))
    with http.stream("POST", "/v1/interactions", json=body("drop me", stream=True)) as response:
        events, error = read_until_error(response)
    assert isinstance(error, httpx.RemoteProtocolError)
    assert [e["event_id"] for e in events] == ["evt_1", "evt_2", "evt_3", "evt_4"]
    interaction_id = events[0]["interaction"]["id"]
    params = {"stream": "true", "last_event_id": "evt_4"}
    rest = http.get(f"/v1/interactions/{interaction_id}", params=params)
    tail = sse_events(rest.text)
    assert tail[0]["event_id"] == "evt_5" and tail[-1]["event_type"] == "interaction.completed"

    before = len(sim.app.store)
    sim.app.faults.push(Fault(kind="drop"))
    with pytest.raises(httpx.RemoteProtocolError):
        http.post("/v1/interactions", json=body("unary drop"))
    assert len(sim.app.store) == before + 1
    record = sim.app.store.records()[-1]
    assert wait_done(http, record.id)["status"] == "completed"


# -- prompt directives ----------------------------------------------------------------


@pytest.mark.parametrize(("directive", "status"), [("429", 429), ("500", 500), ("503", 503)])
def test_status_directives_fire_once_per_body(
    sim: RunningSimulator, http: httpx.Client, directive: str, status: int
) -> None:
    payload = body(f"[[sim:{directive}]] retry me {time.monotonic_ns()}")
    first = http.post("/v1/interactions", json=payload)
    assert first.status_code == status
    if status != 500:
        assert first.headers["retry-after"] == "0.25"
    retry = http.post("/v1/interactions", json=payload)
    assert retry.status_code == 200
    assert "[[sim:" not in retry.json()["steps"][-1]["content"][0]["text"]
    httpx.delete(f"{sim.base_url}/_simulator/faults")  # re-arms directives
    assert http.post("/v1/interactions", json=payload).status_code == status


def test_hang_directive(http: httpx.Client) -> None:
    payload = body(f"[[sim:hang]] {time.monotonic_ns()}")
    with pytest.raises(httpx.ReadTimeout):
        http.post("/v1/interactions", json=payload, timeout=0.1)
    started = time.monotonic()
    assert http.post("/v1/interactions", json=payload).status_code == 200
    assert time.monotonic() - started < 0.3


def test_error_and_drop_directives(http: httpx.Client) -> None:
    payload = body(f"[[sim:error]] {time.monotonic_ns()}", stream=True)
    with http.stream("POST", "/v1/interactions", json=payload) as response:
        events, error = read_until_error(response)
    assert error is None and events[-1]["event_type"] == "error"
    payload = body(f"[[sim:drop]] {time.monotonic_ns()}", stream=True)
    with http.stream("POST", "/v1/interactions", json=payload) as response:
        events, error = read_until_error(response)
    assert isinstance(error, httpx.RemoteProtocolError)
    assert events[-1]["event_type"] != "interaction.completed"
    with http.stream("POST", "/v1/interactions", json=payload) as response:
        events, error = read_until_error(response)
    assert error is None and events[-1]["event_type"] == "interaction.completed"


def test_slow_directive_paces_deltas(http: httpx.Client) -> None:
    started = time.monotonic()
    got = http.post("/v1/interactions", json=body("[[sim:slow]] take your time")).json()
    deltas = sum(1 for _ in got["steps"][-1]["content"][0]["text"].split()) // 3
    assert time.monotonic() - started >= deltas * 0.02
