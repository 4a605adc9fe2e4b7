"""Generate a JSON instance that is valid for a (practical subset of) JSON Schema.

Covers what structured-output callers send: objects with properties/required, ``$ref`` into
``$defs``/``definitions`` (pydantic's ``model_json_schema()``), ``anyOf``/``oneOf`` (incl.
``null`` for optionals), ``allOf``, arrays with min/max items, enums, consts, formats and the
scalar types. ``title``/``description`` are ignored.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

JSON = dict[str, Any]
StringMaker = Callable[[str], str]

_MAX_DEPTH = 6
_OPTIONAL_DEPTH = 2  # optional properties / nullable choices are filled only this shallow
_FORMATS = {
    "date-time": "2026-05-20T12:00:00Z",
    "date": "2026-05-20",
    "time": "12:00:00",
    "email": "simulator@example.com",
    "uri": "https://example.com/simulated",
    "url": "https://example.com/simulated",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "hostname": "example.com",
    "ipv4": "192.0.2.1",
}


def _num(value: object) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def default_string(path: str) -> str:
    return f"Simulated {path.replace('_', ' ')}"


def fill(schema: object, strings: StringMaker = default_string) -> Any:
    """Return a value valid for ``schema``; string leaves come from ``strings(path)``."""
    root = schema if isinstance(schema, dict) else {}
    return _Filler(root, strings).value(root, "value", 0)


class _Filler:
    def __init__(self, root: JSON, strings: StringMaker) -> None:
        self.root = root
        self.strings = strings

    def resolve(self, ref: str) -> JSON:
        if not ref.startswith("#"):
            return {}
        node: Any = self.root
        for part in [p for p in ref[1:].split("/") if p]:
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            else:
                return {}
        return node if isinstance(node, dict) else {}

    def value(self, schema: object, path: str, depth: int) -> Any:  # noqa: C901 (one branch a JSON Schema keyword)
        if depth > 4 * _MAX_DEPTH:  # a schema that requires infinite nesting: give up
            return None
        if schema is True or not isinstance(schema, dict):
            return self.strings(path)
        if "$ref" in schema and isinstance(schema["$ref"], str):
            merged = {k: v for k, v in schema.items() if k != "$ref"}
            return self.value({**self.resolve(schema["$ref"]), **merged}, path, depth + 1)
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return schema["enum"][0]
        for key in ("anyOf", "oneOf"):
            options = schema.get(key)
            if isinstance(options, list) and options:
                return self.value(self.pick(options, depth), path, depth + 1)
        if isinstance(schema.get("allOf"), list):
            return self.value(self.merge(schema), path, depth + 1)
        kind = schema.get("type")
        if isinstance(kind, list):
            non_null = [k for k in kind if k != "null"]
            kind = non_null[0] if non_null and depth < _MAX_DEPTH else (kind[0] if kind else None)
        if kind is None:
            if "properties" in schema:
                kind = "object"
            elif "items" in schema or "prefixItems" in schema:
                kind = "array"
            else:
                kind = "string"
        return self.typed(str(kind), schema, path, depth)

    def pick(self, options: list[Any], depth: int) -> object:
        nulls = [o for o in options if isinstance(o, dict) and o.get("type") == "null"]
        real = [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")]
        if depth > _OPTIONAL_DEPTH and nulls:
            return nulls[0]
        return real[0] if real else options[0]

    def merge(self, schema: JSON) -> JSON:
        out: JSON = {k: v for k, v in schema.items() if k != "allOf"}
        props: JSON = dict(out.get("properties") or {})
        required: list[Any] = list(out.get("required") or [])
        for part in schema["allOf"]:
            if isinstance(part, dict) and isinstance(part.get("$ref"), str):
                part = {**self.resolve(part["$ref"]), **part}
                part.pop("$ref", None)
            if not isinstance(part, dict):
                continue
            props.update(part.get("properties") or {})
            required += [r for r in part.get("required") or [] if r not in required]
            for key, val in part.items():
                if key not in ("properties", "required"):
                    out.setdefault(key, val)
        if props:
            out["properties"] = props
        if required:
            out["required"] = required
        return out

    def typed(self, kind: str, schema: JSON, path: str, depth: int) -> Any:
        if kind == "object":
            return self.obj(schema, path, depth)
        if kind == "array":
            return self.array(schema, path, depth)
        if kind == "integer":
            return int(self.number(schema, 1))
        if kind == "number":
            return self.number(schema, 1.5)
        if kind == "boolean":
            return True
        if kind == "null":
            return None
        return self.string(schema, path)

    def obj(self, schema: JSON, path: str, depth: int) -> JSON:
        props = schema.get("properties")
        props = props if isinstance(props, dict) else {}
        required = schema.get("required")
        required = set(required) if isinstance(required, list) else set()
        out: JSON = {}
        for name, sub in props.items():
            if name in required or depth < _OPTIONAL_DEPTH:
                out[name] = self.value(sub, name, depth + 1)
        for name in required - set(out):
            out[name] = self.strings(str(name))
        return out

    def array(self, schema: JSON, path: str, depth: int) -> list[Any]:
        low = int(schema.get("minItems") or 0)
        high = schema.get("maxItems")
        count = max(low, 0 if depth >= _MAX_DEPTH else 2)
        if isinstance(high, int):
            count = min(count, high)
        prefix = schema.get("prefixItems")
        prefix = prefix if isinstance(prefix, list) else []
        items = schema.get("items")
        if isinstance(items, list):  # draft-4 tuple form
            prefix, items = items, schema.get("additionalItems", {})
        if items is False:
            count = min(count, len(prefix))
        count = max(count, min(len(prefix), low))
        out = []
        for i in range(count):
            sub = prefix[i] if i < len(prefix) else items
            out.append(self.value(sub if sub is not None else {}, f"{path} {i + 1}", depth + 1))
        return out

    def number(self, schema: JSON, default: float) -> float:
        """``default`` when it fits the bounds, else a value inside them."""
        low, high = _num(schema.get("minimum")), _num(schema.get("maximum"))
        xlow, xhigh = _num(schema.get("exclusiveMinimum")), _num(schema.get("exclusiveMaximum"))

        def fits(v: float) -> bool:
            return (
                (low is None or v >= low)
                and (xlow is None or v > xlow)
                and (high is None or v <= high)
                and (xhigh is None or v < xhigh)
            )

        if fits(default):
            return default
        lows = [b for b in (low, xlow) if b is not None]
        highs = [b for b in (high, xhigh) if b is not None]
        lower, upper = (max(lows) if lows else None), (min(highs) if highs else None)
        if lower is not None and upper is not None:
            candidates = [(lower + upper) / 2]
        elif lower is not None:
            candidates = [lower, lower + 1]
        else:
            candidates = [upper, upper - 1] if upper is not None else [default]
        if schema.get("type") == "integer":
            candidates = [f(c) for c in candidates for f in (math.floor, math.ceil)]
        return next((c for c in candidates if fits(c)), candidates[0])

    def string(self, schema: JSON, path: str) -> str:
        fmt = schema.get("format")
        text = _FORMATS[fmt] if isinstance(fmt, str) and fmt in _FORMATS else self.strings(path)
        low, high = schema.get("minLength"), schema.get("maxLength")
        if isinstance(low, int) and len(text) < low:
            text = text + "." * (low - len(text))
        if isinstance(high, int) and len(text) > high:
            text = text[:high]
        return text
