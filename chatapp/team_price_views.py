"""The price table: what each model costs the team, in US dollars per million tokens. The
catalogue's prices are the defaults; a price saved here replaces one for every cost shown
(chatapp.pricing). Staff only; every change is audited."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import catalogue
from .models import ModelPrice
from .team_access import record, staff_required
from .team_forms import PriceForm


def _rows() -> list[dict[str, Any]]:
    """Each offered model, then any other model the team has priced."""
    team = {row.model: row for row in ModelPrice.objects.select_related("updated_by")}
    ids = [info.id for infos in catalogue.offered().values() for info in infos]
    ids += sorted(set(team) - set(ids))
    return [
        {
            "id": model_id,
            "name": catalogue.info(model_id).name,
            "default": catalogue.default_price(model_id),
            "team": team.get(model_id),
            "price": _plain(catalogue.info(model_id).price),
        }
        for model_id in ids
    ]


def _plain(price: catalogue.Price | None) -> dict[str, str] | None:
    """Numbers as an <input type=number> takes them: a dot, whatever the page's language,
    and no trailing zeros."""
    if price is None:
        return None
    return {
        key: format(getattr(price, key).normalize(), "f")
        for key in ("input", "cached_input", "output")
    }


@staff_required
def prices_page(request: HttpRequest) -> HttpResponse:
    return render(request, "team/prices.html", {"section": "prices", "rows": _rows()})


@require_POST
@staff_required
def set_price(request: HttpRequest) -> HttpResponse:
    form = PriceForm(request.POST)
    if not form.is_valid():
        context = {"section": "prices", "rows": _rows(), "form": form}
        return render(request, "team/prices.html", context, status=400)
    data = form.cleaned_data
    values = {key: data[key] for key in ("input", "cached_input", "output")}
    ModelPrice.objects.update_or_create(
        model=data["model"],
        defaults={**values, "updated": timezone.now(), "updated_by": request.user},
    )
    record(
        request,
        "team.price.set",
        data["model"],
        **{key: str(value) for key, value in values.items()},
    )
    messages.success(request, _("Price of %(model)s saved.") % {"model": data["model"]})
    return redirect("team_prices")


@require_POST
@staff_required
def reset_price(request: HttpRequest, pk: int) -> HttpResponse:
    row = get_object_or_404(ModelPrice, pk=pk)
    row.delete()
    record(request, "team.price.reset", row.model)
    messages.success(request, _("%(model)s is back to the default price.") % {"model": row.model})
    return redirect("team_prices")
