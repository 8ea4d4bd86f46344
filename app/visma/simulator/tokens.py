"""RS256 JSON Web Tokens signed with a key generated per simulator instance, and its JWKS."""

from __future__ import annotations

import base64
import json
import secrets

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def b64url(data: bytes) -> str:
    """Base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Inverse of b64url; raises ValueError on garbage."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _int_b64(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


class InvalidToken(Exception):
    """A token that is malformed or whose signature does not verify."""


class TokenSigner:
    """Signs and verifies RS256 JWTs; one RSA key per simulator instance."""

    def __init__(self) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = secrets.token_hex(8)

    def sign(self, claims: dict, typ: str = "JWT") -> str:
        """A compact JWS for claims (typ "at+jwt" for access tokens)."""
        header = {"alg": "RS256", "typ": typ, "kid": self.kid}
        signing_input = (
            b64url(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + b64url(json.dumps(claims, separators=(",", ":")).encode())
        )
        signature = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + b64url(signature)

    def verify(self, token: str) -> dict:
        """The claims of a token this instance signed; InvalidToken otherwise (expiry unchecked)."""
        try:
            header_b64, payload_b64, signature_b64 = token.split(".")
            header = json.loads(b64url_decode(header_b64))
            if header.get("alg") != "RS256" or header.get("kid") != self.kid:
                raise InvalidToken("unknown key or algorithm")
            self._key.public_key().verify(
                b64url_decode(signature_b64),
                (header_b64 + "." + payload_b64).encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
            claims = json.loads(b64url_decode(payload_b64))
        except (ValueError, InvalidSignature, UnicodeDecodeError) as exc:
            raise InvalidToken(str(exc)) from exc
        if not isinstance(claims, dict):
            raise InvalidToken("claims are not an object")
        return claims

    def jwks(self) -> dict:
        """The public key set served at jwks_uri."""
        numbers = self._key.public_key().public_numbers()
        return {
            "keys": [
                {
                    "kty": "RSA",
                    "use": "sig",
                    "alg": "RS256",
                    "kid": self.kid,
                    "n": _int_b64(numbers.n),
                    "e": _int_b64(numbers.e),
                }
            ]
        }
