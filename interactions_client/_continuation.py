"""Automatic continuation: chaining the "hops" of an answer that stopped at
`requires_continuation`, and merging them into one interaction (reference §7.5)."""

from __future__ import annotations

from typing import Any

CONTINUE_STATUS = "requires_continuation"


def enabled(body: dict[str, Any], requested: bool | None) -> bool:
    """The SDK's rule: on by default, off for background and agent interactions."""
    if body.get("background") or "agent" in body or "agent_config" in body:
        return False
    return requested is not False


def next_hop_body(
    body: dict[str, Any], hop: dict[str, Any], sent_token: str | None
) -> dict[str, Any] | None:
    """The body of the next hop after `hop`, or None when there is nothing to continue.

    A token equal to the one just sent means no progress, so the chain stops there.
    """
    token = hop.get("continuation_token")
    if hop.get("status") != CONTINUE_STATUS or not token or token == sent_token:
        return None
    following = dict(body)
    following["continuation_token"] = token
    if body.get("store", True) is not False and hop.get("id"):
        following.pop("input", None)
        following["previous_interaction_id"] = hop["id"]
    return following


def sum_usage(total: dict[str, Any] | None, more: dict[str, Any] | None) -> dict[str, Any] | None:
    """Per-field sum of two usage objects; modality lists summed per modality."""
    if not more:
        return total
    if not total:
        return dict(more)
    merged = dict(total)
    for key, value in more.items():
        if key == "initial_input_tokens":
            merged.setdefault(key, value)
        elif isinstance(value, int) and isinstance(merged.get(key), int):
            merged[key] = merged[key] + value
        elif isinstance(value, list):
            merged[key] = _sum_counts(merged.get(key) or [], value)
        else:
            merged.setdefault(key, value)
    return merged


def _sum_counts(left: list[dict[str, Any]], right: list[dict[str, Any]]) -> list[dict[str, Any]]:
    key = "modality" if any("modality" in item for item in left + right) else "type"
    count = "tokens" if key == "modality" else "count"
    out: dict[Any, dict[str, Any]] = {}
    for item in left + right:
        slot = out.setdefault(item.get(key), {key: item.get(key), count: 0})
        slot[count] += int(item.get(count) or 0)
    return list(out.values())


def merge_hops(hops: list[dict[str, Any]]) -> dict[str, Any]:
    """One interaction from its hops: the last hop's fields, every hop's steps, summed usage."""
    if len(hops) == 1:
        return hops[0]
    first = hops[0]
    merged = dict(hops[-1])
    steps: list[Any] = list(first.get("steps") or [])
    usage = first.get("usage")
    if usage is not None and "initial_input_tokens" not in usage and "total_input_tokens" in usage:
        usage = {**usage, "initial_input_tokens": usage["total_input_tokens"]}
    for hop in hops[1:]:
        hop_steps = list(hop.get("steps") or [])
        while (
            hop_steps
            and isinstance(hop_steps[0], dict)
            and hop_steps[0].get("type") == "user_input"
        ):
            hop_steps.pop(0)
        steps.extend(hop_steps)
        usage = sum_usage(usage, hop.get("usage"))
    merged["steps"] = steps
    if usage is not None:
        merged["usage"] = usage
    for key in ("previous_interaction_id", "created", "input"):
        if key in first:
            merged[key] = first[key]
        else:
            merged.pop(key, None)
    return merged
