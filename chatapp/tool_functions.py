"""A Python function as a tool: its declaration and argument model, from its signature.

A tool's name is the function's name, its description the first paragraph of its docstring,
and its parameter schema comes from its type hints (through a pydantic model, which also
validates the model's arguments before the call).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, get_type_hints

import pydantic


@dataclass(frozen=True)
class Tool:
    """One callable function tool and what the API needs to know about it."""

    name: str
    description: str
    parameters: dict[str, Any]
    func: Callable[..., Any]
    # Validates the model's arguments; built from the same signature as `parameters`.
    arguments_model: type[pydantic.BaseModel] = field(repr=False, compare=False)
    # Where a tool process imports the function from.
    path: str = ""

    @classmethod
    def from_function(cls, func: Callable[..., Any], path: str | None = None) -> Tool:
        """Derive name, description and parameter schema from the signature and docstring."""
        summary, arg_docs = _parse_docstring(inspect.getdoc(func) or "")
        model = _arguments_model(func, arg_docs)
        parameters = _strip_titles(model.model_json_schema(by_alias=True))
        # Extra arguments are still refused when validating, but the keyword is left out of
        # the declaration: it adds nothing for the model and not every backend accepts it.
        parameters.pop("additionalProperties", None)
        return cls(
            name=func.__name__,
            description=summary,
            parameters=parameters,
            func=func,
            arguments_model=model,
            path=path or f"{func.__module__}.{func.__qualname__}",
        )

    def declaration(self) -> dict[str, Any]:
        """The function tool object for the request's ``tools`` list."""
        return {
            "type": "function",
            "name": self.name,
            "description": self.description,
            "parameters": self.parameters,
        }


_SECTION = re.compile(r"^(Args|Arguments|Parameters|Returns?|Yields?|Raises|Examples?|Notes?):$")
_ARG_LINE = re.compile(r"^\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """(first paragraph, {argument: description}) from a cleaned Google-style docstring."""
    lines = doc.splitlines()
    summary: list[str] = []
    for line in lines:
        if not line.strip() or _SECTION.match(line):
            break
        summary.append(line.strip())
    args: dict[str, str] = {}
    in_args, arg_indent, current = False, -1, ""
    for line in lines:
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        if indent == 0:  # getdoc() dedents, so section headers start at column 0
            in_args = line.rstrip() in ("Args:", "Arguments:", "Parameters:")
            arg_indent, current = -1, ""
            continue
        if not in_args:
            continue
        match = _ARG_LINE.match(line.strip())
        if match and arg_indent in (-1, indent):
            arg_indent, current = indent, match.group(1)
            args[current] = match.group(2).strip()
        elif current and indent > arg_indent:  # a wrapped description continues
            args[current] = f"{args[current]} {line.strip()}".strip()
    return " ".join(summary), args


def _arguments_model(func: Callable[..., Any], docs: dict[str, str]) -> type[pydantic.BaseModel]:
    hints = get_type_hints(func)
    fields: dict[str, Any] = {}
    for param in inspect.signature(func).parameters.values():
        if param.kind not in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY):
            raise TypeError(f"parameter {param.name!r}: tools take named parameters only")
        default = ... if param.default is param.empty else param.default
        # Aliases keep names like "schema" or "json" from clashing with BaseModel attributes.
        fields[f"p_{param.name}"] = (
            hints.get(param.name, Any),
            pydantic.Field(default, alias=param.name, description=docs.get(param.name)),
        )
    config = pydantic.ConfigDict(extra="forbid")
    return pydantic.create_model(f"{func.__name__}_arguments", __config__=config, **fields)


# Keywords whose values are data, not subschemas: a "title" inside them is not pydantic's.
_LITERAL_KEYWORDS = ("default", "enum", "const", "examples")


def _strip_titles(schema: Any, in_names: bool = False) -> Any:
    """Drop pydantic's generated "title" keys (noise for the model), not properties named so."""
    if isinstance(schema, list):
        return [_strip_titles(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if in_names:  # a map of name → subschema, e.g. "properties" or "$defs"
        return {key: _strip_titles(value) for key, value in schema.items()}
    return {
        key: value
        if key in _LITERAL_KEYWORDS
        else _strip_titles(value, in_names=key in ("properties", "$defs", "patternProperties"))
        for key, value in schema.items()
        if key != "title"
    }
