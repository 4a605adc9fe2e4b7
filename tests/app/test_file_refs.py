"""File references and their URLs (chatapp.file_refs)."""

from __future__ import annotations

import uuid

from chatapp.file_refs import OWNER, FileUrls, canonical_uuid, referenced_files
from chatapp.rendering import render_steps

ID = uuid.UUID("12345678-1234-5678-9abc-123456789abc")


def test_a_reference_is_read_in_any_uuid_form_and_written_canonically() -> None:
    for written in (str(ID), ID.hex, str(ID).upper(), f"{{{ID}}}", f"urn:uuid:{ID}"):
        assert canonical_uuid(written) == str(ID)
    for junk in (None, 7, "", "../../etc/passwd", "x" * 36, {"a": 1}):
        assert canonical_uuid(junk) is None


def test_each_route_builds_its_own_url_and_junk_gets_none() -> None:
    assert OWNER(ID.hex) == f"/files/{ID}"
    assert FileUrls.shared("tok")(str(ID)) == f"/s/tok/files/{ID}"
    assert FileUrls.absolute("https://chat.example")(str(ID)) == f"https://chat.example/files/{ID}"
    assert OWNER("../../etc/passwd") is None and OWNER(None) is None


def test_rendering_links_files_through_the_builder_it_is_given() -> None:
    steps = [{"type": "model_output", "content": [{"type": "image", "attachment": str(ID)}]}]
    assert render_steps(steps)[0]["src"] == f"/files/{ID}"
    assert render_steps(steps, FileUrls.shared("tok"))[0]["src"] == f"/s/tok/files/{ID}"


def test_references_are_found_at_any_depth_up_to_the_bound() -> None:
    nested: object = {"attachment": ID.hex}
    assert referenced_files([nested]) == {str(ID)}
    for _ in range(100):
        nested = {"x": nested}
    assert referenced_files(nested) == set()
