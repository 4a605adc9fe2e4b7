"""Walking a paged list (`page_token` in, `next_page_token` out): one loop for every resource."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from typing import Protocol, TypeVar


class Page(Protocol):
    next_page_token: str | None


P = TypeVar("P", bound=Page)
T = TypeVar("T")


def each_item(fetch: Callable[[str | None], P], items: Callable[[P], Iterable[T]]) -> Iterator[T]:
    """Every item of every page, asking for the next page only when it is needed."""
    token: str | None = None
    while True:
        page = fetch(token)
        yield from items(page)
        token = page.next_page_token
        if not token:
            return


async def each_item_async(
    fetch: Callable[[str | None], Awaitable[P]], items: Callable[[P], Iterable[T]]
) -> AsyncIterator[T]:
    token: str | None = None
    while True:
        page = await fetch(token)
        for item in items(page):
            yield item
        token = page.next_page_token
        if not token:
            return
