"""Structured output: the JSON schema a user pastes, the request's response_format, and a
check of the answer against the schema, with the answer shown as highlighted JSON.

Schemas and answers are untrusted: every function here returns messages instead of raising.
"""

from __future__ import annotations

import html as _html
import json
from typing import Any
from urllib.parse import unquote

from django.utils import formats
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from jsonschema import Draft202012Validator
from jsonschema.exceptions import relevance

MAX_SCHEMA_BYTES = 20_000
MAX_SCHEMA_DEPTH = 20
# The textarea may hold an indented schema; compact, it must still fit MAX_SCHEMA_BYTES.
MAX_SCHEMA_TEXT_CHARS = 100_000
MAX_ERRORS = 5
_MAX_MESSAGE_CHARS = 300
_JSON_TYPES = "array, boolean, integer, null, number, object, string"


def parse_schema_text(text: str) -> tuple[dict[str, Any] | None, list[str]]:
    """The schema in the settings textarea: ``(schema, [])``, ``(None, errors)``, or
    ``(None, [])`` when the box is empty (free-text answers)."""
    if not text.strip():
        return None, []
    if len(text) > MAX_SCHEMA_TEXT_CHARS:
        return None, [
            _("The schema is too long (over %(limit)s characters).")
            % {"limit": _grouped(MAX_SCHEMA_TEXT_CHARS)}
        ]
    try:
        schema = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        return None, [
            _("Not valid JSON: %(error)s (line %(line)s, column %(column)s).")
            % {"error": exc.msg, "line": exc.lineno, "column": exc.colno}
        ]
    except ValueError as exc:
        return None, [_("Not valid JSON: %(error)s.") % {"error": exc}]
    except RecursionError:
        return None, [
            _("The schema is nested too deeply (limit %(limit)s levels).")
            % {"limit": MAX_SCHEMA_DEPTH}
        ]
    errors = check_schema(schema)
    return (None, errors) if errors else (schema, [])


def _grouped(value: int) -> str:
    return str(formats.number_format(value, force_grouping=True))


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def check_schema(schema: Any) -> list[str]:
    """Why ``schema`` cannot be used for structured output; empty when it can."""
    if not isinstance(schema, dict):
        return [_('The schema must be a JSON object, like {"type": "object", "properties": {…}}.')]
    # Depth first: it is bounded, while serializing a very deep object would recurse.
    if _depth(schema, MAX_SCHEMA_DEPTH + 1) > MAX_SCHEMA_DEPTH:
        return [
            _("The schema is nested too deeply (limit %(limit)s levels).")
            % {"limit": MAX_SCHEMA_DEPTH}
        ]
    try:
        size = len(json.dumps(schema, ensure_ascii=False, allow_nan=False).encode())
    except (TypeError, ValueError) as exc:
        return [_("The schema is not plain JSON: %(error)s.") % {"error": exc}]
    if size > MAX_SCHEMA_BYTES:
        return [
            _("The schema is too large (%(size)s KB; the limit is 20 KB).")
            % {"size": formats.number_format(size / 1000, 1)}
        ]
    meta = Draft202012Validator(Draft202012Validator.META_SCHEMA)
    errors = [_schema_message(e) for e in sorted(meta.iter_errors(schema), key=relevance)]
    if errors:
        return errors[:MAX_ERRORS]
    errors = _check_refs(schema)
    if not errors and _top_type(schema) not in ("object", "array"):
        errors.append(_('The top-level "type" must be "object" or "array".'))
    return errors


def _schema_message(error: Any) -> str:
    path = list(error.absolute_path)
    where = "/".join(str(part) for part in path)
    # A bad "type" keyword (not a property that happens to be called "type").
    if path[-1:] == ["type"] and path[-2:-1] not in (["properties"], ["$defs"]):
        message = _("%(value)s is not a JSON type (use one of: %(types)s)") % {
            "value": repr(error.instance),
            "types": _JSON_TYPES,
        }
    else:
        message = error.message
    return _short(
        _("At %(where)s: %(error)s.") % {"where": where, "error": message}
        if where
        else f"{message}."
    )


def _depth(value: Any, limit: int) -> int:
    """Nesting depth of containers, counted no further than ``limit``."""
    if limit <= 0 or not isinstance(value, dict | list):
        return 0
    children = value.values() if isinstance(value, dict) else value
    return 1 + max((_depth(child, limit - 1) for child in children), default=0)


def _check_refs(schema: dict[str, Any]) -> list[str]:
    """Every "$ref" must point inside the schema: nothing is fetched from elsewhere."""
    errors = []
    for ref in _refs(schema):
        if _resolve(schema, ref) is None:
            errors.append(
                _('The reference "%(ref)s" does not point at a part of this schema.') % {"ref": ref}
            )
    return [_short(e) for e in errors[:MAX_ERRORS]]


def _refs(value: Any) -> list[str]:
    found: list[str] = []
    if isinstance(value, dict):
        ref = value.get("$ref")
        if isinstance(ref, str):
            found.append(ref)
        for child in value.values():
            found.extend(_refs(child))
    elif isinstance(value, list):
        for child in value:
            found.extend(_refs(child))
    return found


def _resolve(schema: dict[str, Any], ref: str) -> Any:
    """The subschema a local JSON-pointer reference ("#/$defs/Item") names, or None."""
    if not ref.startswith("#"):
        return None
    node: Any = schema
    for token in filter(None, unquote(ref[1:]).split("/")):
        key = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return None
    return node


def _top_type(schema: dict[str, Any]) -> Any:
    # pydantic puts a self-referencing model under $defs and the top level is just a $ref.
    if "type" not in schema and isinstance(schema.get("$ref"), str):
        target = _resolve(schema, schema["$ref"])
        return target.get("type") if isinstance(target, dict) else None
    return schema.get("type")


def response_format(schema: dict[str, Any]) -> dict[str, Any]:
    """The request's ``response_format`` asking for JSON that matches ``schema``."""
    return {"type": "text", "mime_type": "application/json", "schema": schema}


def check_answer(text: str, schema: dict[str, Any]) -> dict[str, Any]:
    """``{"valid", "errors" (≤ 5, each with its JSON path), "pretty" (2-space JSON or None)}``."""
    try:
        data = json.loads(text)
        pretty = json.dumps(data, indent=2, ensure_ascii=False)
    except json.JSONDecodeError as exc:
        where = {"error": exc.msg, "line": exc.lineno, "column": exc.colno}
        message = _("The answer is not JSON: %(error)s (line %(line)s, column %(column)s).")
        return _verdict([message % where], None)
    except RecursionError:
        return _verdict([_("The answer is not usable JSON: it is nested too deeply.")], None)
    except (TypeError, ValueError) as exc:  # no text at all, or a number too long to read
        return _verdict([_short(_("The answer is not JSON: %(error)s.") % {"error": exc})], None)
    try:
        validator = Draft202012Validator(schema)
        found = sorted(validator.iter_errors(data), key=relevance)
    except Exception as exc:  # a broken schema must not break the page that shows the answer
        return _verdict(
            [_short(_("The schema could not be applied: %(error)s") % {"error": exc})], pretty
        )
    errors = [_short(f"{e.json_path}: {e.message}") for e in found[:MAX_ERRORS]]
    return _verdict(errors, pretty)


def _verdict(errors: list[str], pretty: str | None) -> dict[str, Any]:
    return {"valid": not errors, "errors": errors, "pretty": pretty}


def _short(message: str) -> str:
    # Messages quote the offending value, which may be a whole answer.
    if len(message) <= _MAX_MESSAGE_CHARS:
        return message
    return message[: _MAX_MESSAGE_CHARS - 1] + "…"


def render_json_html(pretty: str) -> str:
    """``pretty`` JSON as escaped HTML, which the page highlights as JSON."""
    body = _html.escape(pretty, quote=False)  # quotes are harmless in element text
    html: str = mark_safe(f'<pre class="highlight json"><code>{body}</code></pre>')
    return html
