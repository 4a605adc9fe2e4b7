"""The Deep Research agent: an optional research plan first, then a cited report.

With ``agent_config.collaborative_planning`` the first turn answers with a plan and nothing
else. The next turn (``previous_interaction_id`` = the plan's interaction) either confirms
it (a short approval, or ``collaborative_planning`` no longer true), which runs the research,
or asks for changes, which gives a revised plan. The research is thought summaries (its
progress, when ``thinking_summaries`` is ``auto``), searches and page reads, then a Markdown
report whose claims carry ``url_citation`` annotations.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .answers import BANNER, quote, search_widget
from .errors import bad_request
from .inputs import JSON, Context, step_text, text_item
from .tools import search_query

PLAN_HEADING = "## Research plan"
_APPROVAL = re.compile(
    r"^\s*(yes|ok(ay)?|sure|confirm(ed)?|approved?|go( ahead)?|proceed|start|looks good|"
    r"sounds good|lgtm|run it|do it)\b",
    re.IGNORECASE,
)


def is_deep_research(agent: str | None) -> bool:
    return bool(agent) and str(agent).startswith("deep-research")


def _config(body: JSON) -> JSON:
    config = body.get("agent_config")
    if config is None:
        return {}
    if not isinstance(config, dict) or config.get("type") != "deep-research":
        raise bad_request("A Deep Research agent takes an agent_config of type 'deep-research'.")
    return config


def check(body: JSON) -> None:
    """Deep Research runs only in the background (the API refuses it otherwise)."""
    _config(body)
    if body.get("background") is not True:
        raise bad_request("Deep Research agents require 'background': true.")


def _last_plan(ctx: Context) -> str | None:
    """The plan this turn answers, if the latest model output before it was one."""
    for step in reversed(ctx.history):
        if step.get("type") == "model_output":
            text = step_text(step)
            return text if PLAN_HEADING in text else None
    return None


def _topic(ctx: Context) -> str:
    """What is being researched: the first request of the planning exchange."""
    users = [step_text(s) for s in ctx.steps if s.get("type") == "user_input"]
    return " ".join((users[0] if users else "").split()) or "the question"


def _plan_steps(topic: str, edits: list[str]) -> list[str]:
    steps = [
        f"Search for recent, authoritative sources on {quote(topic, 100)}.",
        "Read the most relevant pages and note facts, figures and disagreements.",
        "Compare the sources and check the key claims against each other.",
    ]
    steps += [f"Also: {quote(edit, 160)} (added at your request)." for edit in edits]
    steps.append("Write a structured report with citations.")
    return steps


def _edits(ctx: Context) -> list[str]:
    """Every change the person asked for since the first request (approvals excluded)."""
    users = [step_text(s) for s in ctx.steps if s.get("type") == "user_input"]
    return [u for u in users[1:] if u.strip() and not _APPROVAL.match(u)]


def _thought(text: str, sign: Callable[[str], str], summaries: bool) -> JSON:
    step: JSON = {"type": "thought", "signature": sign(text)}
    if summaries:
        step["summary"] = [text_item(text)]
    return step


def draft(
    req_body: JSON, ctx: Context, new_id: Callable[[str], str], sign: Callable[[str], str]
) -> tuple[list[JSON], bool]:
    """The steps of one Deep Research turn, and whether they are a plan (True) or a report."""
    config = _config(req_body)
    summaries = config.get("thinking_summaries") == "auto"
    planning = config.get("collaborative_planning") is True
    plan = _last_plan(ctx)
    prompt = ctx.prompt()
    approved = plan is not None and (not planning or bool(_APPROVAL.match(prompt)))
    topic = _topic(ctx) if plan is not None else prompt
    edits = _edits(ctx) if plan is not None else []
    if planning and not approved:
        return _plan(topic, edits, sign, summaries), True
    return _research(topic, _plan_steps(topic, edits), new_id, sign, summaries), False


def _plan(topic: str, edits: list[str], sign: Callable[[str], str], summaries: bool) -> list[JSON]:
    thinking = _thought(
        f"**Drafting a research plan**\n\nBreaking {quote(topic, 80)} into steps"
        + (f" and folding in {len(edits)} requested change(s)." if edits else "."),
        sign,
        summaries,
    )
    lines = [f"{n}. {s}" for n, s in enumerate(_plan_steps(topic, edits), 1)]
    text = "\n\n".join(
        [
            BANNER,
            PLAN_HEADING,
            f"Here is how I would research {quote(topic, 160)}:",
            "\n".join(lines),
            "Reply to confirm this plan, or tell me what to change.",
        ]
    )
    return [thinking, {"type": "model_output", "content": [text_item(text)]}]


def _sources(topic: str) -> list[tuple[str, str]]:
    q = "+".join(search_query(topic).split())
    return [
        (f"https://en.wikipedia.org/w/index.php?search={q}", "wikipedia.org"),
        (f"https://scholar.google.com/scholar?q={q}", "scholar.google.com"),
        (f"https://www.nature.com/search?q={q}", "nature.com"),
    ]


def _research(
    topic: str,
    plan: list[str],
    new_id: Callable[[str], str],
    sign: Callable[[str], str],
    summaries: bool,
) -> list[JSON]:
    sources = _sources(topic)
    query = search_query(topic)
    search_id, read_id = new_id("search"), new_id("url")
    steps: list[JSON] = [
        _thought(
            f"**Starting the research**\n\nFollowing a plan of {len(plan)} steps.", sign, summaries
        ),
        {"type": "google_search_call", "id": search_id, "arguments": {"queries": [query]}},
        {
            "type": "google_search_result",
            "call_id": search_id,
            "result": [{"search_suggestions": search_widget(query)}],
        },
        _thought(f"**Reading sources**\n\nFound {len(sources)} promising pages.", sign, summaries),
        {
            "type": "url_context_call",
            "id": read_id,
            "arguments": {"urls": [url for url, _ in sources]},
        },
        {
            "type": "url_context_result",
            "call_id": read_id,
            "result": [{"url": url, "status": "success"} for url, _ in sources],
        },
        _thought(
            "**Writing the report**\n\nCross-checking claims and citing them.", sign, summaries
        ),
    ]
    steps.append({"type": "model_output", "content": [_report(topic, plan, sources)]})
    return steps


def _report(topic: str, plan: list[str], sources: list[tuple[str, str]]) -> JSON:
    claims = [
        f"The simulated sources agree on the basics of {quote(topic, 80)}.",
        "A second source adds figures that a real report would check — ünïcödé intact.",
        "A third source disagrees on one detail, which is noted rather than resolved.",
    ]
    body = [BANNER, f"# Report: {topic[:120]}", "## Summary", " ".join(claims), "## Method"]
    body.append("\n".join(f"{n}. {s}" for n, s in enumerate(plan, 1)))
    body.append("## Sources")
    body.append("\n".join(f"- [{title}]({url})" for url, title in sources))
    text = "\n\n".join(body)
    encoded = text.encode()
    annotations = []
    for claim, (url, title) in zip(claims, sources, strict=True):
        start = encoded.index(claim.encode())
        annotations.append(
            {
                "type": "url_citation",
                "url": url,
                "title": title,
                "start_index": start,
                "end_index": start + len(claim.encode()),
            }
        )
    return {**text_item(text), "annotations": annotations}
