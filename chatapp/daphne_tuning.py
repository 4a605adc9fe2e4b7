"""Stop Twisted from parsing every multipart body that Daphne then hands to Django anyway.

Twisted's `Request` parses a multipart POST with the stdlib email parser, on the event loop,
holding several copies of the body; Daphne never reads that result (twisted#4519,
daphne#483). Twisted has an opt-out, `parsePOSTFormSubmission=False`, that Daphne does not
pass. bench/upload.py, one 20 MB image: +262 MiB and a 743 ms stall -> +23 MiB, 53 ms.
"""

from __future__ import annotations

import inspect
from typing import Any


def skip_twisted_form_parsing() -> None:
    try:
        from daphne.http_protocol import WebRequest
        from twisted.web.http import Request
    except ImportError:  # not running under Daphne
        return
    if "parsePOSTFormSubmission" not in inspect.signature(Request.__init__).parameters:
        return  # an older Twisted without the switch
    if getattr(WebRequest.__init__, "_skips_form_parsing", False):
        return
    original = WebRequest.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("parsePOSTFormSubmission", False)
        original(self, *args, **kwargs)

    __init__._skips_form_parsing = True  # type: ignore[attr-defined]
    WebRequest.__init__ = __init__  # type: ignore[method-assign]


def limit_websocket_messages(max_bytes: int) -> None:
    """Set Daphne's limit on incoming websocket messages here, in one place.

    Daphne refuses a bigger message by closing the socket (1009); its default (1 MiB, from
    every launcher's command line) is below what a legitimate frame may need. The page's
    frames are checked by the consumer against `protocol.MAX_FRAME_BYTES`, a little lower, so
    a too-big message gets a clear error frame instead of a closed socket.
    """
    try:
        from daphne.server import Server
    except ImportError:  # not running under Daphne
        return
    if getattr(Server.__init__, "_websocket_limit", None) == max_bytes:
        return
    original = getattr(Server.__init__, "_original", Server.__init__)

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs["websocket_max_message_size"] = max_bytes
        kwargs["websocket_max_frame_size"] = max_bytes
        original(self, *args, **kwargs)

    __init__._websocket_limit = max_bytes  # type: ignore[attr-defined]
    __init__._original = original  # type: ignore[attr-defined]
    Server.__init__ = __init__  # type: ignore[method-assign]
