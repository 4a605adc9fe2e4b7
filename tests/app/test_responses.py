"""Every JSON error a page receives has the one shape of chatapp.responses."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from chatapp.models import Conversation

pytestmark = pytest.mark.django_db


def assert_one_shape(response: Any, status: int, key: str) -> None:
    assert response.status_code == status, response.content
    body = response.json()
    assert isinstance(body["error"], str) and body["error"]
    assert set(body) <= {"error", "errors", "field"}
    messages = [m for listed in body["errors"].values() for m in listed]
    assert key in body["errors"] and " ".join(messages) == body["error"]


def test_each_kind_of_refusal_answers_in_the_one_shape(
    alice: Any, tmp_path: Any, settings: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path
    client = Client()
    client.force_login(alice)
    conversation = Conversation.objects.create(owner=alice, title="t", model="gemini-3.5-flash")
    url = f"/c/{conversation.pk}"
    as_json = {"HTTP_ACCEPT": "application/json"}
    # A form's errors, a single field's, a share link's, an upload's and an import's.
    assert_one_shape(client.post(f"{url}/settings", {"model": "gpt-9"}), 400, "model")
    assert_one_shape(client.post(f"{url}/rename", {"title": " "}, **as_json), 400, "title")
    assert_one_shape(client.post(f"{url}/teleport", **as_json), 404, "action")
    assert_one_shape(client.post(f"{url}/share"), 400, "share")
    text = SimpleUploadedFile("a.txt", b"plain words")
    assert_one_shape(client.post("/upload", {"file": text}), 400, "file")
    bad = SimpleUploadedFile("c.json", json.dumps({"format": "other"}).encode())
    refused = client.post("/import", {"file": bad}, **as_json)
    assert_one_shape(refused, 400, "file")
    assert refused.json()["field"] == "format"
