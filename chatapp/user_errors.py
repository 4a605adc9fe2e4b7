"""The one base of the errors a person can fix: a message fit to show, and where it goes.

    UserError                  message, HTTP status, and the field at fault (if known)
    ├── protocol.ClientError   a refused websocket frame: an `error` frame with a `code`
    ├── limits.LimitExceeded   over a per-user limit (429)
    ├── uploads.UploadError    an upload or an attachment refused
    ├── share_links.ShareError a share link that cannot be made
    └── import_schema.ImportRefused   an import file, with the path at fault in `field`

Views answer them with `chatapp.responses.user_error_response`: one JSON shape everywhere.
"""

from __future__ import annotations


class UserError(Exception):
    """Something a person asked for that cannot be done, in words fit to show them."""

    def __init__(self, message: str, status: int = 400, field: str | None = None) -> None:
        message = str(message)  # a lazy translation, in the language of whoever asked
        super().__init__(message)
        self.message = message
        self.status = status
        self.field = field
