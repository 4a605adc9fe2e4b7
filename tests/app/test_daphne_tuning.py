from __future__ import annotations

from types import SimpleNamespace

from daphne.http_protocol import WebRequest

from chatapp.daphne_tuning import skip_twisted_form_parsing


def test_daphne_requests_leave_multipart_parsing_to_django() -> None:
    skip_twisted_form_parsing()
    skip_twisted_form_parsing()  # applying it twice is harmless
    server = SimpleNamespace(protocol_connected=lambda request: None)
    address = SimpleNamespace(host="127.0.0.1", port=1)
    transport = SimpleNamespace(getPeer=lambda: address, getHost=lambda: address)
    channel = SimpleNamespace(
        factory=SimpleNamespace(server=server),
        site=None,
        transport=transport,
        getPeer=lambda: address,
        getHost=lambda: address,
    )
    request = WebRequest(channel, False)
    assert request._parsePOSTFormSubmission is False
