"""Two workers, one team: live streams, reconnects, Stop and crash recovery across workers."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any

import psycopg
from websockets.asyncio.client import ClientConnection, connect

from tests.harness.cluster import Cluster


@contextlib.asynccontextmanager
async def _explain(tab: Tab, timeout: float) -> Any:
    """A timeout that says which frames did arrive."""
    try:
        async with asyncio.timeout(timeout):
            yield
    except TimeoutError:
        seen = [(f["type"], f.get("seq")) for f in tab.frames][-30:]
        raise AssertionError(f"no such frame within {timeout}s; got {seen}") from None


class Tab:
    """A browser tab's websocket on one worker."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.frames: list[dict[str, Any]] = []

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(frame))

    async def until(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 20
    ) -> dict[str, Any]:
        async with _explain(self, timeout):
            while True:
                frame = json.loads(await self.ws.recv())
                self.frames.append(frame)
                if predicate(frame):
                    return frame

    async def final(self, turn: int, timeout: float = 30) -> dict[str, Any]:
        return await self.until(
            lambda f: f["type"] == "turn" and f.get("final") and f["turn"]["id"] == turn, timeout
        )


async def open_tab(worker: Any, cookie: str) -> Tab:
    ws = await connect(
        worker.url.replace("http://", "ws://") + "/ws/chat/",
        origin=worker.url,
        additional_headers={"Cookie": f"sessionid={cookie}"},
    )
    return Tab(ws)


async def start(tab: Tab, text: str) -> tuple[int, int]:
    await tab.send({"type": "send", "conversation": None, "parent": None, "text": text})
    created = await tab.until(lambda f: f["type"] == "turn" and f["seq"] == 0)
    return created["turn"]["conversation"], created["turn"]["id"]


def saved_turn(database: str, turn: int) -> tuple[str, str, str]:
    with psycopg.connect(database) as conn:
        row = conn.execute(
            "SELECT status, answer_text, worker FROM chatapp_turn WHERE id = %s", (turn,)
        ).fetchone()
    assert row is not None
    return row


def rebuild(frames: list[dict[str, Any]], turn: int) -> str:
    """The answer text as a page rebuilds it: a snapshot, then newer deltas in seq order."""
    text: dict[int, str] = {}
    known = -1
    for frame in frames:
        if frame.get("turn") == turn or (frame["type"] == "turn" and frame["turn"]["id"] == turn):
            if frame["type"] == "turn" and not frame.get("final") and frame["seq"] > known:
                text = {  # answer text only: a thought still streaming is live too
                    v["index"]: v.get("text", "")
                    for v in frame["turn"]["steps"]
                    if v.get("live") and v["type"] == "model_output"
                }
                known = frame["seq"]
            elif frame["type"] in ("delta", "step", "status") and frame["seq"] > known:
                first = frame.get("from", frame["seq"])
                assert known < 0 or first == known + 1, "a frame was lost"
                known = frame["seq"]
                if frame["type"] == "delta" and frame["delta"]["type"] == "text":
                    text[frame["index"]] = text.get(frame["index"], "") + frame["delta"]["text"]
    return "".join(text[i] for i in sorted(text))


async def test_a_tab_on_one_worker_sees_a_stream_started_on_the_other(
    cluster: Cluster, session_cookie: str, database: str
) -> None:
    first, second = cluster.workers[:2]
    writer = await open_tab(first, session_cookie)
    conversation, turn = await start(writer, "[[sim:slow]] stream across workers")
    watcher = await open_tab(second, session_cookie)
    await watcher.send({"type": "subscribe", "conversation": conversation})
    await watcher.final(turn)
    done = await writer.final(turn)
    status, answer, _ = saved_turn(database, turn)
    assert status == "completed", done["turn"]["error"]
    assert status == "completed"
    deltas = [f for f in watcher.frames if f["type"] == "delta"]
    assert deltas, "the second worker's tab received no live delta"
    assert rebuild(watcher.frames, turn) == rebuild(writer.frames, turn) == answer
    assert "stream across workers" in answer
    await writer.ws.close()
    await watcher.ws.close()


async def test_reconnecting_to_the_other_worker_mid_stream_loses_nothing(
    cluster: Cluster, session_cookie: str, database: str
) -> None:
    first, second = cluster.workers[:2]
    tab = await open_tab(first, session_cookie)
    conversation, turn = await start(tab, "[[sim:slow]] reconnect elsewhere")
    await tab.until(lambda f: f["type"] == "delta" and f["seq"] >= 4)
    await tab.ws.close()
    again = await open_tab(second, session_cookie)
    await again.send({"type": "subscribe", "conversation": conversation})
    snapshot = await again.until(lambda f: f["type"] == "turn")
    # The snapshot comes from the worker that runs the generation, mid-stream.
    assert snapshot["turn"]["status"] == "in_progress" and 4 <= snapshot["seq"]
    await again.final(turn)
    _, answer, _ = saved_turn(database, turn)
    assert rebuild(again.frames, turn) == answer
    await again.ws.close()


async def test_stop_from_the_other_worker(
    cluster: Cluster, session_cookie: str, database: str
) -> None:
    first, second = cluster.workers[:2]
    tab = await open_tab(first, session_cookie)
    conversation, turn = await start(tab, "[[sim:slow]] please stop me")
    await tab.until(lambda f: f["type"] == "delta")
    other = await open_tab(second, session_cookie)
    await other.send({"type": "subscribe", "conversation": conversation})
    await other.send({"type": "stop", "turn": turn})
    final = await other.final(turn)
    assert final["turn"]["status"] == "stopped"
    assert saved_turn(database, turn)[0] == "stopped"
    await tab.ws.close()
    await other.ws.close()


async def test_a_worker_killed_mid_stream_leaves_no_lost_turn(
    cluster: Cluster, session_cookie: str, database: str
) -> None:
    victim = cluster.start()
    survivor = cluster.workers[1]
    tab = await open_tab(victim, session_cookie)
    conversation, turn = await start(tab, "[[sim:slow]] survive a crash")
    await tab.until(lambda f: f["type"] == "delta" and f["seq"] >= 3)
    cluster.kill(victim)
    watcher = await open_tab(survivor, session_cookie)
    await watcher.send({"type": "subscribe", "conversation": conversation})
    # The survivor notices the silent heartbeat, claims the turn and re-attaches upstream.
    final = await watcher.final(turn, timeout=45)
    assert final["turn"]["status"] == "completed"
    status, answer, worker = saved_turn(database, turn)
    assert status == "completed" and "survive a crash" in answer
    assert "relay." in worker  # a worker channel, not a process id
    with psycopg.connect(database) as conn:
        stuck = conn.execute(
            "SELECT count(*) FROM chatapp_turn WHERE status IN ('queued', 'in_progress')"
        ).fetchone()
    assert stuck == (0,)
    await watcher.ws.close()


def sign_in(worker: Any, username: str = "leaver", password: str = "a-long-pass-phrase") -> Any:
    """A new session of a user, as an HTTP client with its cookies."""
    import httpx

    http = httpx.Client(base_url=worker.url)
    http.get("/login/")
    response = http.post(
        "/login/",
        data={
            "username": username,
            "password": password,
            "csrfmiddlewaretoken": http.cookies["csrftoken"],
        },
        headers={"Referer": f"{worker.url}/login/"},
    )
    assert response.status_code == 302, response.text
    return http


async def ready(tab: Tab) -> None:
    """The socket answers a frame (and so has joined its groups)."""
    await tab.send({"type": "subscribe", "conversation": 999_999})
    await tab.until(lambda f: f["type"] == "error")


async def closed_with(tab: Tab, code: int, timeout: float = 10) -> None:
    from websockets.exceptions import ConnectionClosed

    try:
        async with asyncio.timeout(timeout):
            while True:
                await tab.ws.recv()
    except ConnectionClosed as exc:
        assert exc.rcvd is not None and exc.rcvd.code == code
        return
    raise AssertionError("the socket stayed open")


async def test_signing_out_or_changing_the_password_on_one_worker_closes_sockets_on_the_other(
    cluster: Cluster, session_cookie: str
) -> None:
    first, second = cluster.workers[0], cluster.workers[1]
    first.manage(
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model; "
        "get_user_model().objects.create_user('leaver', password='a-long-pass-phrase')",
    )
    browser, elsewhere = sign_in(first), sign_in(first)
    tab = await open_tab(second, browser.cookies["sessionid"])
    other = await open_tab(second, elsewhere.cookies["sessionid"])
    bystander = await open_tab(second, session_cookie)  # another user: stays
    for socket in (tab, other, bystander):
        await ready(socket)

    token = browser.cookies["csrftoken"]
    headers = {"Referer": f"{first.url}/", "X-CSRFToken": token}
    assert browser.post("/logout/", headers=headers).status_code == 302
    await closed_with(tab, 4401)
    await ready(other)

    changer = sign_in(first)
    form = {
        "old_password": "a-long-pass-phrase",
        "new_password1": "another-long-pass-phrase",
        "new_password2": "another-long-pass-phrase",
        "csrfmiddlewaretoken": changer.cookies["csrftoken"],
    }
    changed = changer.post("/password/", data=form, headers={"Referer": f"{first.url}/password/"})
    assert changed.status_code == 302, changed.text
    await closed_with(other, 4401)
    await ready(bystander)
    for http in (browser, elsewhere, changer):
        http.close()


async def test_the_cap_on_open_tabs_counts_both_workers(cluster: Cluster) -> None:
    first, second = cluster.workers[0], cluster.workers[1]
    first.manage(
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model; "
        "get_user_model().objects.create_user('tabby', password='a-long-pass-phrase')",
    )
    http = sign_in(first, "tabby")
    cookie = http.cookies["sessionid"]
    cap = 30  # CHAT_MAX_SOCKETS_PER_USER's default
    tabs = [await open_tab(cluster.workers[n % 2], cookie) for n in range(cap)]
    for tab in tabs:
        await ready(tab)
    for worker in (first, second):
        await closed_with(await open_tab(worker, cookie), 4429)
    await tabs[0].ws.close()
    await asyncio.sleep(0.5)  # the close reaches its worker
    again = await open_tab(second, cookie)
    await ready(again)
    for tab in [*tabs[1:], again]:
        await tab.ws.close()
    http.close()
