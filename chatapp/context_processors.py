from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def upstream(request: HttpRequest) -> dict[str, Any]:
    """Tells every page whether answers come from the offline simulator."""
    return {"using_simulator": settings.USE_SIMULATOR}
