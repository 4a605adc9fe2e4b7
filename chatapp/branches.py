"""The tree of turns: which branch is on screen, and each turn's siblings."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from .models import Turn


@dataclass
class Tree:
    by_id: dict[int, Turn]
    children: dict[int | None, list[Turn]]

    @classmethod
    def of(cls, turns: Iterable[Turn]) -> Tree:
        by_id: dict[int, Turn] = {}
        children: dict[int | None, list[Turn]] = defaultdict(list)
        for turn in sorted(turns, key=lambda t: (t.created, t.pk)):
            by_id[turn.pk] = turn
            children[turn.parent_id].append(turn)
        return cls(by_id, children)

    def siblings(self, turn: Turn) -> list[Turn]:
        return self.children[turn.parent_id]

    def latest_leaf(self, turn: Turn | None) -> Turn | None:
        """Follow the newest child down from `turn` (from the newest root when None)."""
        node = turn
        kids = self.children[node.pk if node else None]
        while kids:
            node = kids[-1]
            kids = self.children[node.pk]
        return node

    def path_to(self, leaf: Turn | None) -> list[Turn]:
        """Root-first list of turns ending at `leaf`."""
        path: list[Turn] = []
        node = leaf
        while node is not None:
            path.append(node)
            node = self.by_id.get(node.parent_id) if node.parent_id else None
        path.reverse()
        return path

    def branch(self, leaf_id: int | None) -> list[Turn]:
        """The branch on screen: the path to `leaf_id`, extended down its newest children."""
        leaf = self.by_id.get(leaf_id) if leaf_id else None
        return self.path_to(self.latest_leaf(leaf))


def turn_id(value: object) -> int | None:
    """A turn id from a request parameter, or None when it is not one.

    Not str.isdigit() alone: it accepts "²", which int() refuses.
    """
    text = str(value)
    if text.isascii() and text.isdigit() and len(text) < 19:
        return int(text)
    return None
