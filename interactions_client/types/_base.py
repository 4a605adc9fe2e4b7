"""Shared base for wire models: open objects that dump back exactly what was received."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator


class WireModel(BaseModel):
    """An API object.

    Unknown fields are kept (``extra="allow"``) so a newer server never breaks an older
    client, and ``model_dump()`` defaults to the fields that were actually set, so a step
    parsed from a response dumps back to the very JSON the server sent (no added nulls or
    defaults): the API requires replayed steps, thought signatures included, unchanged.
    """

    model_config = ConfigDict(
        extra="allow", populate_by_name=True, protected_namespaces=(), validate_assignment=False
    )

    @model_validator(mode="after")
    def _mark_discriminator_set(self) -> WireModel:
        # A `type` filled from its Literal default must still be sent: it tags the object.
        for key in ("type", "event_type"):
            if key in type(self).model_fields and key not in self.model_fields_set:
                self.model_fields_set.add(key)
        return self

    def model_dump(  # type: ignore[override]
        self, *, exclude_unset: bool = True, by_alias: bool = True, **kwargs: Any
    ) -> dict[str, Any]:
        return super().model_dump(exclude_unset=exclude_unset, by_alias=by_alias, **kwargs)

    def model_dump_json(  # type: ignore[override]
        self, *, exclude_unset: bool = True, by_alias: bool = True, **kwargs: Any
    ) -> str:
        return super().model_dump_json(exclude_unset=exclude_unset, by_alias=by_alias, **kwargs)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready dict of this object, exactly as received or built."""
        return self.model_dump(mode="json")


def open_union(
    variants: list[type[WireModel]], unknown: type[WireModel], key: str = "type"
) -> Callable[[Any], Any]:
    """A before-validator for a union tagged by `key` that tolerates unknown tags.

    Known tags parse into their class; any other mapping parses into `unknown`, which keeps
    every field. Instances pass through, so the union's smart mode picks their own class.
    """
    by_tag: dict[str, type[WireModel]] = {}
    for cls in variants:
        default = cls.model_fields[key].default
        by_tag[str(default)] = cls

    def parse(value: Any) -> Any:
        if isinstance(value, WireModel) or not isinstance(value, Mapping):
            return value
        cls = by_tag.get(str(value.get(key)), unknown)
        return cls.model_validate(value)

    return parse
