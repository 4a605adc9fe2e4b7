"""What a turn shows: an answer continued over several calls (continuation hops, tool
rounds) reads as one block of thinking and one block of text."""

from __future__ import annotations

from chatapp.blocks import ROUND_BREAK, block_start, streamed_text
from chatapp.payloads import step_views

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


CALL = {"type": "function_call", "id": "c1", "name": "f", "arguments": {}}
RESULT = {"type": "function_result", "call_id": "c1", "name": "f", "result": "ok"}


def thought(text: str) -> dict:
    return {"type": "thought", "summary": [{"type": "text", "text": text}], "signature": "s"}


def test_tool_rounds_show_one_thinking_block_and_one_text_block() -> None:
    steps = [
        thought("**Plan** one."),
        output("| a | b |\n|---|---|\n| 1 | 2 |"),
        CALL,
        RESULT,
        thought("**Plan** two."),
        output("After the tool."),
    ]
    assert [block_start(steps, i) for i in range(6)] == [0, 1, 2, 3, 0, 1]
    views = step_views(steps)
    assert [v["index"] for v in views] == [0, 1, 2, 3]
    summary = views[0]["parts"][0]["summary_html"]
    assert summary.count("<strong>Plan</strong>") == 2
    html = views[1]["parts"][0]["html"]
    # The later round's text is a paragraph of its own after the table, not a table row.
    assert html.count("<table>") == 1 and html.endswith("</table>\n<p>After the tool.</p>\n")


def test_a_hop_after_a_thought_goes_on_mid_sentence() -> None:
    steps = [output("The first half of a sent"), thought("More thinking."), output("ence.")]
    views = step_views(steps)
    assert [v["index"] for v in views] == [0, 1]
    assert "The first half of a sentence." in views[0]["parts"][0]["html"]


def test_streamed_text_is_the_text_of_the_final_block() -> None:
    """The page's live text of a block, delta by delta, is what the block is once final."""
    final = [thought("One."), output("Hop "), CALL, RESULT, thought("Two."), output("Round.")]
    steps: list[dict] = []
    live: dict[int, str] = {}
    for step in final:
        kind = "thought_summary" if step["type"] == "thought" else "text"
        items = step.get("summary") or step.get("content")
        if not items:
            steps.append(step)
            continue
        steps.append({**step, "summary" if kind == "thought_summary" else "content": []})
        for piece in (items[0]["text"][:2], items[0]["text"][2:]):
            folded = steps[-1]["summary" if kind == "thought_summary" else "content"]
            if folded:
                folded[0] = {"type": "text", "text": folded[0]["text"] + piece}
            else:
                folded.append({"type": "text", "text": piece})
            index = block_start(steps, len(steps) - 1)
            live[index] = live.get(index, "") + streamed_text(steps, len(steps) - 1, kind, piece)
    views = step_views(steps, open_steps=range(len(steps)))
    assert {v["index"]: v["text"] for v in views if v["text"]} == live
    assert live == {0: f"One.{ROUND_BREAK}Two.", 1: f"Hop {ROUND_BREAK}Round."}


def test_a_new_user_input_starts_a_new_answer() -> None:
    steps = [output("a"), {"type": "user_input", "content": []}, output("b")]
    assert [v["index"] for v in step_views(steps)] == [0, 1, 2]
