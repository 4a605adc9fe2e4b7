"""Deterministic answer texts: Markdown that says it is simulated and echoes what it got.

Everything here is a pure function of the conversation, so the same request always yields
the same text, and tests can check that prompts, attachments, history and system
instructions really reached the upstream.
"""

from __future__ import annotations

import hashlib
import re

from .inputs import JSON, Context, result_text, step_media

BANNER = "*Offline simulator — not a real Gemini answer.*"
_MAX_QUOTE = 300
_MAX_EARLIER_QUOTE = 80
_MAX_EARLIER = 6


def quote(text: str, limit: int = _MAX_QUOTE) -> str:
    flat = " ".join(text.split())
    if len(flat) > limit:
        flat = flat[: limit - 1].rstrip() + "…"
    return f"“{flat}”"


def _pick(seed: str, options: list[str]) -> str:
    return options[hashlib.sha256(seed.encode()).digest()[0] % len(options)]


def preamble(ctx: Context) -> list[str]:
    """Banner, the quoted prompt, system instruction, attachments and earlier turns."""
    parts = [BANNER, f"You said: {quote(ctx.prompt())}"]
    if ctx.system_instruction:
        parts.append(f"System instruction acknowledged: {quote(ctx.system_instruction)}")
    user = ctx.latest_user()
    media = step_media(user) if user else []
    if media:
        lines = "\n".join(f"- {ctx.describe(m)}" for m in media)
        parts.append(f"Attachments I received:\n{lines}")
    earlier = ctx.earlier_user_texts()
    if earlier:
        shown = earlier[-_MAX_EARLIER:]
        first = len(earlier) - len(shown) + 1
        lines = "\n".join(
            f"{first + i}. {quote(t, _MAX_EARLIER_QUOTE)}" for i, t in enumerate(shown)
        )
        note = f" ({first - 1} earlier not shown)" if first > 1 else ""
        parts.append(f"Earlier in this conversation you said{note}:\n{lines}")
    return parts


def chat_answer(ctx: Context, *, long: bool = False) -> str:
    prompt = ctx.prompt()
    parts = preamble(ctx)
    words = prompt.split()
    topic = " ".join(words[:8]) + ("…" if len(words) > 8 else "") or "your message"
    parts.append(
        _pick(
            prompt,
            [
                f"Here is a simulated reply about **{topic}**. A real model would reason about "
                "it; this one only proves the round trip:",
                f"Simulated thoughts on **{topic}**, in a few Markdown bullets:",
                f"A canned answer for **{topic}** follows, formatted to exercise rendering:",
            ],
        )
    )
    parts.append(
        "- the request reached the simulator intact\n"
        "- the answer is deterministic: the same request gives the same text\n"
        "- `inline code`, *emphasis* and **bold** render as Markdown"
    )
    lowered = prompt.lower()
    if any(word in lowered for word in ("code", "python", "script", "function", "program")):
        parts.append("```python\ndef simulated() -> str:\n    return 'offline simulator'\n```")
    if long:
        parts.append(long_body(prompt))
    return "\n\n".join(parts)


def asks_for_title(ctx: Context) -> bool:
    """A system instruction that wants a title only (as chat apps ask after a first answer)."""
    wanted = (ctx.system_instruction or "").lower()
    return "title" in wanted and "only" in wanted


def title_answer(ctx: Context) -> str:
    """A short title from the first words of the conversation's text, as a model would give."""
    # The conversation as chat apps quote it ("User: …\n\nAssistant: …"): the user's part.
    text = re.split(r"\n\s*assistant\s*:", ctx.prompt(), maxsplit=1, flags=re.IGNORECASE)[0]
    text = re.sub(r"^\s*user\s*:\s*", "", text, flags=re.IGNORECASE)
    words = re.findall(r"[\w'’-]+", text)
    skip = {"the", "a", "an", "please", "can", "you", "could", "me", "i", "my", "to"}
    picked = [w for w in words if w.lower() not in skip][:5] or ["New", "chat"]
    return " ".join(w[:1].upper() + w[1:] for w in picked)


def echo_answer(ctx: Context) -> str:
    """The prompt itself as the answer's Markdown (``[[sim:echo]]``): any text a test needs."""
    return f"{BANNER}\n\n{ctx.raw_prompt()}"


def long_body(prompt: str) -> str:
    """About 4 KB of numbered sections, so the answer needs several continuation hops."""
    topic = " ".join(prompt.split()[:5]) or "the topic"
    sections = []
    for n in range(1, 13):
        sections.append(
            f"## Part {n}\n\n"
            f"Section {n} of the long simulated answer about “{topic}”. It exists to make the "
            "reply longer than one decode hop, so the client has to follow "
            "requires_continuation tokens and stitch the text back together in order. "
            f"Every part carries its own number ({n}) so a test can check nothing was lost."
        )
    return "\n\n".join(sections)


def function_answer(ctx: Context, results: list[JSON]) -> str:
    parts = [BANNER]
    if ctx.prompt():
        parts.append(f"You asked: {quote(ctx.prompt())}")
    if ctx.system_instruction:
        parts.append(f"System instruction acknowledged: {quote(ctx.system_instruction)}")
    names = {s.get("id"): s.get("name") for s in ctx.steps if s.get("type") == "function_call"}
    lines = []
    for res in results:
        name = res.get("name") or names.get(res.get("call_id")) or "function"
        flag = " (reported as an error)" if res.get("is_error") else ""
        lines.append(f"- `{name}` returned{flag}: {quote(result_text(res.get('result')), 500)}")
    parts.append("I called your tools and got:\n" + "\n".join(lines))
    parts.append("Based on those results, that is the (simulated) answer.")
    return "\n\n".join(parts)


def search_answer(ctx: Context, urls: list[tuple[str, str]]) -> tuple[str, list[JSON]]:
    """Grounded text with non-ASCII before the cited sentences; citations use byte offsets."""
    head = "\n\n".join(preamble(ctx))
    intro = "Résumé (simulé) — 検索結果の要約 🔎: "
    sentences = [
        f"According to the first source, the search for {quote(ctx.prompt(), 120)} "
        "ran offline in the simulator.",
        "The second source confirms that no real web request was made — ünïcödé stays intact.",
    ]
    text = head + "\n\n" + intro + sentences[0] + " " + sentences[1]
    encoded = text.encode()
    annotations: list[JSON] = []
    for sentence, (url, title) in zip(sentences, urls, strict=False):
        start = encoded.rindex(sentence.encode())
        annotations.append(
            {
                "type": "url_citation",
                "url": url,
                "title": title,
                "start_index": start,
                "end_index": start + len(sentence.encode()),
            }
        )
    return text, annotations


def file_search_answer(ctx: Context, passages: list[JSON]) -> tuple[str, list[JSON]]:
    """An answer quoting the passages found, each quote cited with a ``file_citation``."""
    head = "\n\n".join(preamble(ctx))
    if not passages:
        return head + "\n\nI searched your documents and found nothing about this.", []
    lines = ["From your documents (simulated file search) — ünïcödé stays intact:"]
    quotes = []
    for passage in passages:
        words = passage["text"].split()
        excerpt = " ".join(words[:30]) + (" …" if len(words) > 30 else "")
        page = f", page {passage['page_number']}" if passage.get("page_number") else ""
        quote_text = f"{passage['file_name']}{page} says: “{excerpt}”"
        quotes.append((quote_text, passage))
        lines.append(f"- {quote_text}")
    text = head + "\n\n" + "\n".join(lines)
    encoded = text.encode()
    annotations: list[JSON] = []
    position = len(head.encode())
    for quote_text, passage in quotes:
        start = encoded.index(quote_text.encode(), position)
        end = start + len(quote_text.encode())
        position = end
        note: JSON = {
            "type": "file_citation",
            "file_name": passage["file_name"],
            "document_uri": passage["document"],
            "source": passage["store"],
            "media_id": passage["media_id"],
        }
        if passage.get("page_number") is not None:
            note["page_number"] = passage["page_number"]
        if passage.get("custom_metadata"):
            note["custom_metadata"] = passage["custom_metadata"]
        annotations.append({**note, "start_index": start, "end_index": end})
    return text, annotations


def mcp_note(call: JSON, result: JSON) -> str:
    """What the answer says about one MCP call: its result, or why it failed."""
    where = f"`{call['name']}` on MCP server `{call['server_name']}`"
    if result.get("is_error"):
        return f"I could not use {where}: {quote(result_text(result.get('result')), 300)}"
    return f"I called {where} and it returned: {quote(result_text(result.get('result')), 500)}"


def search_widget(query: str) -> str:
    """The kind of HTML+CSS snippet Google returns in ``search_suggestions``."""
    href = "https://www.google.com/search?q=" + "+".join(query.split())
    return (
        "<style>.container{align-items:center;border-radius:8px;display:flex;"
        "font-family:Google Sans,Roboto,sans-serif;padding:8px 12px}"
        ".chip{border:1px solid #d2d2d2;border-radius:16px;color:#5e5e5e;"
        "display:inline-block;margin:0 4px;padding:4px 12px;text-decoration:none}</style>"
        '<div class="container"><div class="headline">Search suggestions</div>'
        f'<a class="chip" href="{href}">{query}</a></div>'
    )


def thought_summary(ctx: Context) -> str:
    return (
        "**Planning a simulated reply**\n\n"
        f"The user wrote {len(ctx.prompt().split())} words. I am the offline simulator, so "
        "I will echo the request and answer deterministically."
    )


def agent_script(prompt: str) -> tuple[str, str]:
    """Code an agent "runs" in its sandbox, with the output that code really prints."""
    if "fibonacci" in prompt.lower():
        nums = [0, 1]
        while len(nums) < 20:
            nums.append(nums[-1] + nums[-2])
        code = (
            "nums = [0, 1]\n"
            "while len(nums) < 20:\n"
            "    nums.append(nums[-1] + nums[-2])\n"
            "with open('fibonacci.txt', 'w') as f:\n"
            "    f.write('\\n'.join(map(str, nums)))\n"
            "with open('fibonacci.txt') as f:\n"
            "    print(f.read())\n"
        )
        return code, "\n".join(map(str, nums)) + "\n"
    task = " ".join(prompt.split())
    code = (
        f"task = {task!r}\n"
        "words = task.split()\n"
        "print(len(words), 'words; first:', words[0] if words else '')\n"
    )
    words = task.split()
    return code, f"{len(words)} words; first: {words[0] if words else ''}\n"
