"""The database restarted while the chat is idle.

With SQLite a restart is simulated by closing every connection Django holds, in the test's
thread and in the thread the async ORM uses: the next message must reconnect and work.
"""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from django.test import Client

from chatapp.models import Turn

from .helpers import active_turns, creates, is_final, send, text_of

pytestmark = pytest.mark.django_db(transaction=True)


def close_all_connections() -> bool:
    connections.close_all()
    return all(connection.connection is None for connection in connections.all())


async def test_the_next_message_works_after_the_database_connections_are_closed(
    connect: Any, alice: Any, upstream: Any
) -> None:
    sock = await connect(alice)
    first = (await send(sock, "Remember that I have 2 dogs."))["turn"]
    await sock.until(is_final(first["id"]))

    # The database goes away while nothing happens, in every thread Django uses it from.
    assert await sync_to_async(close_all_connections)()
    assert close_all_connections()

    second = await send(sock, "How many dogs?", first["conversation"], parent=first["id"])
    assert second["type"] == "turn", second
    final = await sock.until(is_final(second["turn"]["id"]))
    assert final["turn"]["status"] == "completed"
    turn = await Turn.objects.aget(pk=second["turn"]["id"])
    # The chain of interactions survived: the answer knows the first message.
    assert creates(upstream)[-1]["json"]["previous_interaction_id"]
    assert "Remember that I have 2 dogs." in text_of(turn)

    # Pages reconnect too.
    assert await sync_to_async(close_all_connections)()
    client = Client()
    await sync_to_async(client.force_login)(alice)
    page = await sync_to_async(client.get)(f"/c/{first['conversation']}/")
    assert page.status_code == 200 and "How many dogs?" in page.content.decode()

    # No turn was lost, none is left running.
    assert await Turn.objects.filter(conversation_id=first["conversation"]).acount() == 2
    assert await active_turns() == []
