"""Types of the Redis Streams commands (XADD, XREAD, XREVRANGE) as `streams` uses them.

redis-py types replies for clients that return bytes; `streams`'s clients are made with
`decode_responses=True`, so every key, entry id and field comes back as `str`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from redis.typing import EncodableT, FieldT, KeyT, StreamIdT

# What XADD takes: the fields of one entry.
Entry: TypeAlias = "dict[FieldT, EncodableT]"
# What XREAD takes: the position to read each stream from.
Positions: TypeAlias = "dict[KeyT, StreamIdT]"
# What XREVRANGE answers: (entry id, fields) pairs.
Range: TypeAlias = "list[tuple[str, dict[str, str]]]"
# What XREAD answers: (stream key, entries) pairs.
Read: TypeAlias = "list[tuple[str, Range]]"
