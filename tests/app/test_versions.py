"""Versions counted the way a reader does (edits on the question, regenerations on the
answer) and the owner-checked endpoint that swaps a branch in place."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from chatapp.models import Conversation, Turn
from chatapp.versions import versions

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_client(alice: Any) -> Client:
    client = Client()
    client.force_login(alice)
    return client


def turn(conversation: Conversation, text: str, parent: Turn | None = None) -> Turn:
    made: Turn = Turn.objects.create(
        conversation=conversation,
        parent=parent,
        model="m",
        status="completed",
        user_input=[{"type": "text", "text": text}],
        user_text=text,
        steps=[{"type": "model_output", "content": [{"type": "text", "text": f"re: {text}"}]}],
        answer_text=f"re: {text}",
    )
    return made


@pytest.fixture
def tree(alice: Any) -> dict[str, Any]:
    """A question answered twice (a regeneration), then edited and answered twice more."""
    conversation = Conversation.objects.create(owner=alice, title="t", model="m")
    a1, a2 = turn(conversation, "first"), turn(conversation, "first")
    b1, b2 = turn(conversation, "edited"), turn(conversation, "edited")
    follow = turn(conversation, "follow", parent=a1)
    return {"conversation": conversation, "a1": a1, "a2": a2, "b1": b1, "b2": b2, "f": follow}


def test_regenerations_count_on_the_answer_and_edits_on_the_question(
    tree: dict[str, Any],
) -> None:
    siblings = [tree[k] for k in ("a1", "a2", "b1", "b2")]
    a2 = versions(tree["a2"], siblings)
    assert a2["answer"] == {"index": 1, "count": 2, "prev": tree["a1"].pk, "next": None}
    # The next version of the question shows its newest answer.
    assert a2["question"] == {"index": 0, "count": 2, "prev": None, "next": tree["b2"].pk}
    b1 = versions(tree["b1"], siblings)
    assert b1["question"]["index"] == 1 and b1["question"]["prev"] == tree["a2"].pk
    assert b1["answer"] == {"index": 0, "count": 2, "prev": None, "next": tree["b2"].pk}
    alone = versions(tree["f"], [tree["f"]])
    assert alone["question"]["count"] == alone["answer"]["count"] == 1


def test_the_page_shows_both_navs(alice_client: Client, tree: dict[str, Any]) -> None:
    page = alice_client.get(f"/c/{tree['conversation'].pk}/?turn={tree['a2'].pk}").content.decode()
    assert 'aria-label="Versions of this message"' in page
    assert 'aria-label="Versions of this answer"' in page
    assert page.count('class="branch-pos"') == 2 and "2/2" in page


def test_the_branch_endpoint_swaps_and_remembers(
    alice_client: Client, tree: dict[str, Any]
) -> None:
    conversation = tree["conversation"]
    body = alice_client.get(f"/c/{conversation.pk}/branch?turn={tree['a1'].pk}").json()
    # The branch goes on down the newest answers: a1 then its follow-up.
    assert body["turns"] == [tree["a1"].pk, tree["f"].pk]
    assert f'id="turn-{tree["f"].pk}"' in body["html"] and "re: follow" in body["html"]
    conversation.refresh_from_db()
    assert conversation.current_turn_id == tree["a1"].pk
    body = alice_client.get(f"/c/{conversation.pk}/branch?turn={tree['b2'].pk}").json()
    assert body["turns"] == [tree["b2"].pk]


def test_the_branch_endpoint_is_the_owners_only(
    alice_client: Client, tree: dict[str, Any], bob: Any
) -> None:
    conversation = tree["conversation"]
    bob_client = Client()
    bob_client.force_login(bob)
    assert bob_client.get(f"/c/{conversation.pk}/branch?turn={tree['a1'].pk}").status_code == 404
    other = Conversation.objects.create(owner=bob, title="bob's", model="m")
    foreign = turn(other, "bob's question")
    # A turn of another conversation, or no turn at all, is a 404 too.
    assert alice_client.get(f"/c/{conversation.pk}/branch?turn={foreign.pk}").status_code == 404
    assert alice_client.get(f"/c/{conversation.pk}/branch?turn=x").status_code == 404
    assert alice_client.post(f"/c/{conversation.pk}/branch?turn={tree['a1'].pk}").status_code == 405
