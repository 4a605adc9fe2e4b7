"""Offline, deterministic simulator of the Gemini Interactions API (revision 2026-05-20).

A raw ASGI app (stdlib only; uvicorn just serves it) that speaks the same wire format as
``generativelanguage.googleapis.com`` closely enough for our own client *and* the real
``google-genai`` SDK (``http_options={"base_url": ...}``) to parse everything. It is an
independent check of our client, so it imports nothing else from ``interactions_client``.

Routes (path version ``v1``, ``v1beta`` or ``v1alpha``)
    ``POST /{v}/interactions`` (JSON, or SSE with ``"stream": true`` / ``?alt=sse``),
    ``GET /{v}/interactions/{id}`` (``stream``, ``last_event_id``, ``include_input``),
    ``POST /{v}/interactions/{id}/cancel``, ``DELETE /{v}/interactions/{id}`` → ``{}``.
    ``x-goog-api-key`` is required (401 without; 403 if ``SimulatorConfig.api_key`` is set
    and differs). ``Api-Revision`` and unknown request fields are accepted and ignored.
    Errors are ``{"error": {"code": <http status>, "message": ..., "status": "NOT_FOUND"}}``.

Behaviour
    * Answers are Markdown starting with ``*Offline simulator — not a real Gemini answer.*``;
      they quote the prompt, the ``system_instruction``, each attachment (type, mime type,
      decoded size or uri) and the earlier user messages of the conversation, whether it
      arrived through ``previous_interaction_id`` or as a replayed stateless history.
      Same request → same text (ids and timestamps aside).
    * Models named ``gemini-3*`` / ``gemini-2.5*`` (and all agents) start with a ``thought``
      step whose ``signature`` is HMAC-signed; replaying a thought with an altered or foreign
      signature → 400 "Corrupted thought signature." ``summary`` only with
      ``generation_config.thinking_summaries == "auto"``.
    * Function tools → ``function_call`` + ``requires_action`` (arguments built from the
      parameter schema; strings get the last capitalized word of the prompt); function
      results → an answer quoting them, whichever of the SDK's forms ``result`` takes (a
      string, an object, or a list of content blocks); any other ``result`` or an unknown
      ``call_id`` → 400.
      ``tool_choice: "none"`` disables calls.
    * ``google_search`` → search call/result steps and ``url_citation`` annotations with
      UTF-8 byte offsets; ``url_context`` and ``code_execution`` → their call/result steps.
    * Models whose name contains ``image`` → text plus a real PNG (256×256) tinted by colour
      words in the conversation.
    * JSON ``response_format`` (or deprecated ``response_mime_type``) → JSON valid for the
      schema. ``max_output_tokens`` (counted in words) truncates → ``incomplete``.
    * Answers longer than ``hop_chars`` stop at ``requires_continuation`` with a
      ``continuation_token`` (not for background or agent interactions).
    * Agents with ``environment`` → thought, code execution steps, answer, ``environment_id``.
    * ``background: true`` → ``in_progress`` at once (``queued`` first when
      ``queued_seconds`` > 0), done after ``background_seconds``;
      cancel → ``cancelled``; cancelling a finished one → 400 FAILED_PRECONDITION.
    * Every interaction has an event log (``evt_1``, ``evt_2``…); streams tail it, generation
      continues when the client leaves, ``GET ?stream=true&last_event_id=`` re-attaches.
    * ``store: false`` → nothing is kept; the id is then unknown (404).

Files API and file search stores (``resources.py`` lists the routes)
    Resumable uploads (``uploads.py``: start → ``x-goog-upload-url``; chunks with
    ``X-Goog-Upload-Offset`` written straight to disk; ``query``; ``cancel``; finalize →
    ``x-goog-upload-status: final``). Files (``files.py``) are ``PROCESSING`` → ``ACTIVE``
    (videos after ``video_processing_seconds``) or ``FAILED`` (display name with
    ``[[sim:fail]]``), expire after ``file_ttl_seconds`` (48 h); ``POST
    /_simulator/files/expire`` with ``{"name": "files/…"}`` (or ``{}`` for all) expires them
    now. An interaction naming a file by its ``uri`` is answered about the file's content;
    an unknown or expired file → 403 PERMISSION_DENIED, a file not ``ACTIVE`` → 400
    FAILED_PRECONDITION. File search stores (``stores.py``) hold documents indexed as text
    chunks (pages for PDFs, ``pdf.py``/``extract.py``); uploads and imports return
    operations that are ``done`` after ``document_processing_seconds``. The ``file_search``
    tool → ``file_search_call``/``file_search_result`` steps and ``file_citation``
    annotations on the answer. Files API objects are camelCase proto JSON, like the API's.

Fault injection, way 1 — queued faults
    In-process: ``app.faults.push(Fault(kind="status", status=429, retry_after=1.0,
    times=2, route="create"))``; over HTTP: ``POST /_simulator/faults`` with the same fields
    as JSON (an object, a list, or ``{"faults": [...]}``). ``GET /_simulator/faults`` lists
    pending faults, ``DELETE /_simulator/faults`` clears them (and the directive memory),
    ``GET``/``DELETE /_simulator/requests`` reads/clears the recorded requests,
    ``POST /_simulator/reset`` forgets everything, ``GET /_simulator/health`` answers
    ``{"status": "ok"}``. ``/_simulator/*`` needs no API key.
    Fault fields: ``kind``, ``status`` (default 500), ``retry_after`` (seconds →
    ``Retry-After``), ``retry_after_ms`` (→ ``retry-after-ms``), ``times`` (default 1),
    ``route`` (``create`` | ``get`` | ``cancel`` | ``delete`` | ``upload`` | ``files`` |
    ``any``; a ``drop`` on ``upload`` keeps half a chunk and cuts the connection), ``after_events``
    (default 3), ``seconds`` (hang length, default 3600), ``message``, ``stream`` (only
    streaming/unary requests) and ``match`` (substring of path or raw body). Kinds:

    * ``status`` — answer with that HTTP status and the error body.
    * ``hang`` — accept the request and send nothing for ``seconds`` (then answer normally).
    * ``error_event`` — (create only) after ``after_events`` events emit an SSE ``error``
      event ``{"error": {"code": "internal", ...}}`` and close; the interaction ends
      ``failed``. A unary create returns that failed interaction.
    * ``drop`` — a stream sends ``after_events`` events, then the connection is aborted
      (incomplete chunked body); a unary create sends its headers and half of the JSON body,
      then aborts. Generation of the interaction goes on, so a stored one can be
      re-attached or fetched.

Fault injection, way 2 — prompt directives (in the latest user message)
    ``[[sim:429]]``, ``[[sim:500]]``, ``[[sim:503]]`` (HTTP error; 429/503 carry
    ``Retry-After``), ``[[sim:hang]]``, ``[[sim:error]]`` (mid-stream error event),
    ``[[sim:drop]]`` — each fires only on the first attempt of a given request body, so a
    retry of the same body succeeds (``DELETE /_simulator/faults`` re-arms them) —
    plus ``[[sim:fail]]`` (interaction ``failed`` with ``errors`` and ``model_output.error``,
    every time), ``[[sim:long]]`` (a ~4 KB answer that needs continuation hops),
    ``[[sim:slow]]`` (``slow_seconds_per_token`` per delta, also for unary creates) and
    ``[[sim:echo]]`` (the answer is the prompt itself, as Markdown, after the banner).
    Directives are removed from the quoted prompt.

Everything else a test may need: ``app.requests`` (method, path, query, lower-cased
headers, parsed ``json`` body of every API request), ``app.store``, ``app.files``
(``expire()``, ``get()``), ``app.file_search_stores``, ``app.uploads`` (``len()`` = open
upload sessions) and ``app.reset()``.
``serve(config)`` runs the app with uvicorn on a free 127.0.0.1 port in a background
thread and yields an object with ``.base_url`` and ``.app``.
"""

from __future__ import annotations

from .app import SimulatorApp, create_app
from .config import SimulatorConfig
from .faults import Fault
from .server import RunningSimulator, serve

__all__ = ["Fault", "RunningSimulator", "SimulatorApp", "SimulatorConfig", "create_app", "serve"]
