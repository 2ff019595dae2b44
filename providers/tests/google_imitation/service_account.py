"""A throwaway Vertex service account for the tests: an RSA key made on the spot, the key file
google-auth reads, and the check of the signed JWT google-auth trades for an access token."""

from __future__ import annotations

import base64
import json
import secrets
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"


def generate(*, project: str, token_uri: str) -> tuple[dict, str, rsa.RSAPublicKey]:
    """The service-account key file (as a dict), its key id and the public key to check its JWTs."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    key_id = secrets.token_hex(8)
    info = {
        "type": "service_account",
        "project_id": project,
        "private_key_id": key_id,
        "private_key": pem.decode(),
        "client_email": f"scalpaiboard@{project}.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": token_uri,
    }
    return info, key_id, key.public_key()


def _b64decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def verified_claims(assertion: str, public_keys: dict) -> dict | None:
    """The JWT's claims when it is signed (RS256) by a key of `public_keys`, for Google's token
    audience (google-auth sets it whatever the key file's token_uri), and unexpired."""
    try:
        header_b64, claims_b64, signature_b64 = assertion.split(".")
        header, claims = json.loads(_b64decode(header_b64)), json.loads(_b64decode(claims_b64))
        public_key = public_keys[header["kid"]]
        signed = f"{header_b64}.{claims_b64}".encode()
        public_key.verify(_b64decode(signature_b64), signed, padding.PKCS1v15(), hashes.SHA256())
    except (ValueError, KeyError, InvalidSignature):
        return None
    if claims.get("aud") != GOOGLE_TOKEN_AUDIENCE or claims.get("exp", 0) < time.time():
        return None
    return claims


def new_access_token() -> str:
    return "ya29.imitation-" + secrets.token_urlsafe(16)
