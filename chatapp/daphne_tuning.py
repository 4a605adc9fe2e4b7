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
