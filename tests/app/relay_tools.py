"""Tools the tests register through settings.CHAT_TOOLS."""

from __future__ import annotations


def lookup_city(city: str) -> dict[str, object]:
    """Look up facts about a city.

    Args:
        city: The city name, e.g. London.
    """
    return {"city": city, "population_millions": 8.9}


def broken_tool(city: str) -> str:
    """A tool that always fails."""
    raise RuntimeError(f"the {city} service is down")
