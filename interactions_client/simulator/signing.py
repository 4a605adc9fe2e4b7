"""Opaque tokens the simulator can verify: thought signatures and continuation tokens.

Both are HMAC-signed so that a client which alters, invents or re-encodes them is caught:
that is how the tests prove clients send steps back exactly as they received them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

_SIG_PREFIX = b"SIMTHOUGHT1"
_MAC_LEN = 16


class Signer:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._secret, payload, hashlib.sha256).digest()[:_MAC_LEN]

    def thought_signature(self, seed: str) -> str:
        # Standard base64 like the real API ("EvEFCu4F..."); the payload is deterministic
        # for a given request so identical requests get identical signatures.
        payload = _SIG_PREFIX + hashlib.sha256(seed.encode()).digest()[:24]
        return base64.b64encode(payload + self._mac(payload)).decode("ascii")

    def verify_thought_signature(self, signature: object) -> bool:
        if not isinstance(signature, str):
            return False
        try:
            raw = base64.b64decode(signature, validate=True)
        except (binascii.Error, ValueError):
            return False
        payload, mac = raw[:-_MAC_LEN], raw[-_MAC_LEN:]
        if not payload.startswith(_SIG_PREFIX):
            return False
        if base64.b64encode(raw).decode("ascii") != signature:
            return False
        return hmac.compare_digest(mac, self._mac(payload))

    def continuation_token(self, state: dict[str, Any]) -> str:
        payload = json.dumps(state, sort_keys=True, separators=(",", ":")).encode()
        body = base64.urlsafe_b64encode(payload).decode("ascii").rstrip("=")
        mac = base64.urlsafe_b64encode(self._mac(payload)).decode("ascii").rstrip("=")
        return f"ct1.{body}.{mac}"

    def read_continuation_token(self, token: object) -> dict[str, Any] | None:
        if not isinstance(token, str) or token.count(".") != 2:
            return None
        version, body, mac = token.split(".")
        if version != "ct1":
            return None
        try:
            payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            got = base64.urlsafe_b64decode(mac + "=" * (-len(mac) % 4))
        except (binascii.Error, ValueError):
            return None
        if not hmac.compare_digest(got, self._mac(payload)):
            return None
        try:
            state = json.loads(payload)
        except ValueError:
            return None
        return state if isinstance(state, dict) else None


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]
