"""Room codes and secrets: what a class is called, and what proves a page is its teacher or a student.

A room code is `CODE_LENGTH` characters of Crockford's base 32 (digits and capital letters without I, L,
O and U: nothing to misread on a projector), drawn by `secrets`: 32**7 = 3.4e10 codes. The server takes at
most `Limits.wrong_codes_total` (300) wrong codes a minute from everyone together, and 20 per 5 minutes from
one client: 54,000 guesses in a room's 3 hours find that room with a chance of 1 in 600,000 (any of 200
open rooms: 1 in 3,000). `read_code` forgives what people type: lower case, spaces, dashes, O for 0, I or L for 1.

The teacher key and each student's token are `secrets.token_urlsafe(24)` (192 bits). The database keeps only
their SHA-256 digests; `same_secret` compares digests in constant time (`hmac.compare_digest`).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

from diffusion_core.classroom.polls import Refused

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base 32
CODE_LENGTH = 7
READS_AS = str.maketrans("OIL", "011")


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def read_code(text) -> str:
    """The room code in what a person typed, or `Refused` with what a code looks like."""
    raw = str(text or "")[:40]
    code = "".join(ch for ch in raw.upper() if ch not in " -_\t").translate(READS_AS)
    if len(code) != CODE_LENGTH or any(ch not in ALPHABET for ch in code):
        shown = "".join(ch for ch in raw if ch.isprintable())[:20]
        raise Refused(f"'{shown}' is not a class code: a code has {CODE_LENGTH} letters and digits, like "
                      f"{ALPHABET[10:13]}{ALPHABET[2:6]}.")
    return code


def new_secret() -> str:
    return secrets.token_urlsafe(24)


def digest(secret: str) -> bytes:
    return hashlib.sha256(str(secret or "").encode("utf-8", "replace")).digest()


def same_secret(stored: bytes, secret) -> bool:
    """Whether `secret` is the one whose digest is `stored` (constant time; an empty secret never is)."""
    return bool(secret) and hmac.compare_digest(bytes(stored), digest(secret))
