"""The model catalogue: names, kinds and the cost of an answer's usage."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import override_settings

from chatapp import catalogue

# The admins' price table (chatapp.pricing) comes first, so a price reads the database.
pytestmark = pytest.mark.django_db


def test_offered_models_carry_human_names_and_kinds() -> None:
    offered = catalogue.offered()
    assert [model.name for model in offered["text"]][0] == "Gemini 3.5 Flash"
    assert all(model.kind == "image" for model in offered["image"])
    assert "deep-research-preview-04-2026" in [model.id for model in offered["agent"]]


@override_settings(CHAT_MODELS={"Text": ["someone-elses-model"], "Images": [], "Agents": []})
def test_an_unknown_model_is_its_own_name_and_has_no_price() -> None:
    model = catalogue.info("someone-elses-model")
    assert (model.name, model.kind, model.price) == ("someone-elses-model", "text", None)
    assert catalogue.cost("someone-elses-model", {"total_input_tokens": 10}) is None


def test_cost_bills_cached_input_at_its_rate_and_thinking_as_output() -> None:
    usage = {
        "total_input_tokens": 1_000_000,
        "total_cached_tokens": 400_000,
        "total_output_tokens": 100_000,
        "total_thought_tokens": 100_000,
    }
    # gemini-3.5-flash: 0.5 in, 0.05 cached, 3.0 out per million.
    expected = Decimal("0.6") * Decimal("0.5") + Decimal("0.4") * Decimal("0.05") + Decimal("0.6")
    assert catalogue.cost("gemini-3.5-flash", usage) == expected
    assert catalogue.cost("gemini-3.5-flash", None) is None
