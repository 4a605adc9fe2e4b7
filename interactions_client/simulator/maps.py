"""The ``google_maps`` tool: plausible places for a query, and an answer citing them.

Places are a deterministic function of the query (and of the location the tool gives), so
the same request always names the same places. Each mention in the answer carries a
``place_citation`` (byte offsets, like every annotation); ``enable_widget`` adds the
``widget_context_token`` the Maps JavaScript widget is rendered from.
"""

from __future__ import annotations

import base64
import hashlib

from .errors import bad_request
from .inputs import JSON
from .tools import tools_of

_KINDS = ["Café", "Bistro", "Bookshop", "Garden", "Market"]
_NAMES = ["Aurora", "Lindenhof", "Maré", "Kōyō", "Old Harbour", "Sunflower", "Zeder"]


def maps_tool(body: JSON) -> JSON | None:
    """The request's ``google_maps`` tool, checked as the API would (None when absent)."""
    found = tools_of(body, "google_maps")
    if not found:
        return None
    tool = found[0]
    lat, lng = tool.get("latitude"), tool.get("longitude")
    if (lat is None) != (lng is None):
        raise bad_request("google_maps needs both 'latitude' and 'longitude', or neither.")
    for value, limit, name in ((lat, 90, "latitude"), (lng, 180, "longitude")):
        if value is not None and (
            not isinstance(value, int | float) or isinstance(value, bool) or abs(value) > limit
        ):
            raise bad_request(f"google_maps '{name}' must be a number within ±{limit}.")
    return tool


def _place_id(seed: str) -> str:
    digest = hashlib.sha256(seed.encode()).digest()
    return "ChIJ" + base64.urlsafe_b64encode(digest[:18]).decode().rstrip("=")


def places_for(query: str, tool: JSON) -> list[JSON]:
    """Three places for ``query`` (near the tool's location when it has one)."""
    where = ""
    if tool.get("latitude") is not None:
        where = f"@{float(tool['latitude']):.3f},{float(tool['longitude']):.3f}"
    seed = hashlib.sha256(f"{query}{where}".encode()).digest()
    places = []
    for n in range(3):
        name = f"{_NAMES[(seed[n] + n) % len(_NAMES)]} {_KINDS[(seed[n + 3] + n) % len(_KINDS)]}"
        place_id = _place_id(f"{query}{where}{n}")
        review_id = _place_id(f"review{place_id}")
        places.append(
            {
                "name": name,
                "place_id": f"places/{place_id}",
                "url": f"https://maps.google.com/?cid={int.from_bytes(seed[n : n + 8], 'big')}",
                "review_snippets": [
                    {
                        "review_id": review_id,
                        "title": f"A visitor on {name} (simulated review)",
                        "url": f"https://www.google.com/maps/reviews/data={review_id}",
                    }
                ],
            }
        )
    return places


def widget_token(query: str) -> str:
    digest = hashlib.sha256(f"widget:{query}".encode()).digest()
    return "widgetcontent/" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def maps_steps(call_id: str, query: str, tool: JSON) -> tuple[JSON, JSON, list[JSON]]:
    """The ``google_maps_call`` and ``google_maps_result`` steps, and the places found."""
    places = places_for(query, tool)
    item: JSON = {"places": places}
    if tool.get("enable_widget"):
        item["widget_context_token"] = widget_token(query)
    call = {"type": "google_maps_call", "id": call_id, "arguments": {"queries": [query]}}
    return call, {"type": "google_maps_result", "call_id": call_id, "result": [item]}, places


def maps_answer(head: str, places: list[JSON], tool: JSON) -> tuple[str, list[JSON]]:
    """The answer listing the places, each mention cited with a ``place_citation``."""
    near = ""
    if tool.get("latitude") is not None:
        near = f" near {float(tool['latitude']):.4f}, {float(tool['longitude']):.4f}"
    lines = [f"Places I found on Google Maps{near} (simulated — ünïcödé stays intact):"]
    mentions = [f"{p['name']} is a well-reviewed spot (simulated)" for p in places]
    lines += [f"- {m}" for m in mentions]
    text = head + "\n\n" + "\n".join(lines)
    encoded, position = text.encode(), len(head.encode())
    annotations: list[JSON] = []
    for mention, place in zip(mentions, places, strict=True):
        start = encoded.index(mention.encode(), position)
        position = start + len(mention.encode())
        annotations.append(
            {
                "type": "place_citation",
                "place_id": place["place_id"],
                "name": place["name"],
                "url": place["url"],
                "review_snippets": place["review_snippets"],
                "start_index": start,
                "end_index": position,
            }
        )
    return text, annotations
