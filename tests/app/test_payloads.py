"""What a turn shows: an answer continued over several calls reads as one block."""

from __future__ import annotations

from chatapp.payloads import block_start, step_views

THOUGHT = {"type": "thought", "signature": "sig"}


def output(text: str, annotations: list[dict] | None = None) -> dict:
    item: dict = {"type": "text", "text": text}
    if annotations:
        item["annotations"] = annotations
    return {"type": "model_output", "content": [item]}


def test_consecutive_model_outputs_show_as_one_block_split_mid_sentence_no_more() -> None:
    steps = [THOUGHT, output("The first half of a sent"), output("ence, and the rest.")]
    assert [block_start(steps, i) for i in range(3)] == [0, 1, 1]
    views = step_views(steps)
    assert [v["index"] for v in views] == [0, 1]
    html = "".join(part.get("html", "") for part in views[1]["parts"])
    assert "The first half of a sentence, and the rest." in html


def test_citations_of_a_continued_answer_keep_their_place() -> None:
    first = "Tea — "  # the dash is 3 bytes in UTF-8: offsets are bytes
    cite = {
        "type": "url_citation",
        "url": "https://tea.example/",
        "title": "Tea",
        "start_index": 0,
        "end_index": 5,
    }
    steps = [output(first), output("China first.", [cite])]
    parts = step_views(steps)[0]["parts"]
    html = parts[0]["html"]
    assert parts[0]["sources"] and parts[0]["sources"][0]["url"] == "https://tea.example/"
    # The marker follows "China" (bytes 0..5 of the second text), not "Tea —".
    assert html.startswith('<p>Tea — China<sup class="cite">')


def test_a_block_streams_live_while_any_of_its_steps_is_open() -> None:
    steps = [output("Done part. "), output("Still strea")]
    views = step_views(steps, open_steps={1})
    assert views == [
        {"index": 0, "type": "model_output", "live": True, "text": "Done part. Still strea"}
    ]


def test_other_steps_between_outputs_keep_blocks_apart() -> None:
    call = {"type": "function_call", "id": "c1", "name": "f", "arguments": {}}
    steps = [output("a"), call, output("b")]
    assert [v["index"] for v in step_views(steps)] == [0, 1, 2]
