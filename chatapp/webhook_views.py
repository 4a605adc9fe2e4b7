"""POST /hooks/gemini/: Gemini's webhook deliveries (chatapp.gemini_webhooks does the work).

No session and no CSRF token: the signature is the authentication. A delivery that does not
verify (bad signature, too old, a replay) is answered 400, changes nothing and is audited.
"""

from __future__ import annotations

import logging

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from interactions_client import WebhookVerificationError

from . import audit, gemini_webhooks

log = logging.getLogger(__name__)


@csrf_exempt
@require_POST
async def gemini_webhook(request: HttpRequest) -> HttpResponse:
    if not settings.GEMINI_WEBHOOK_SECRET:
        return JsonResponse({"error": gettext("Webhooks are not configured here.")}, status=404)
    body, headers = request.body, dict(request.headers)
    try:
        event = await sync_to_async(gemini_webhooks.verify)(body, headers)
    except WebhookVerificationError as exc:
        log.warning("webhook refused: %s", exc)
        await sync_to_async(audit.record)(
            None,
            "webhook.refused",
            target=headers.get("Webhook-Id", "")[:200],
            request=request,
            reason=str(exc)[:200],
        )
        return JsonResponse({"error": gettext("The delivery did not verify.")}, status=400)
    outcome = await gemini_webhooks.deliver(event)
    log.info("webhook %s (%s): %s", event.webhook_id, event.type, outcome)
    return HttpResponse(status=204)
