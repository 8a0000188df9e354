"""The text corpus: 88,799 US surnames (the 1990 US Census list, public domain), as the PyPI package
`names` (MIT licence) ships them; installed like any dependency, never fetched at run time.

Characters a-z, at most 13 per name, padded with "." to SEQ_LEN = 16 positions (the model predicts
the padding too, so it chooses each name's length). A fixed split by a hash of the name puts about 10%
of the names in the held-out set (scored once, for the figures the app quotes), about 5% in a validation
set (where a training run picks its checkpoint) and the rest, about 85%, in the training set. `encode` / `decode` map text to token ids and back; bad text gets a
clear message.
"""
from __future__ import annotations

import hashlib
import os
from functools import lru_cache

import numpy as np

LETTERS = "abcdefghijklmnopqrstuvwxyz"
PAD, MASK = ".", "_"
VOCAB = LETTERS + PAD  # what the model predicts (27 tokens)
MASK_ID = len(VOCAB)  # the absorbing state, an input token only (28 inputs)
PAD_ID = VOCAB.index(PAD)
SEQ_LEN = 16
MAX_TEXT = 1000  # characters a user may type before the text is refused
SOURCE = "US Census 1990 surnames (public domain) via PyPI `names` 0.3.0 (MIT)"


def _names_file() -> str:
    try:
        import names
    except ImportError:
        raise ValueError("The text corpus comes with the package `names`: pip install -r requirements.txt") from None
    return os.path.join(os.path.dirname(names.__file__), "dist.all.last")


@lru_cache(maxsize=1)
def all_names() -> tuple[str, ...]:
    """Every surname of the list, lower case, in the list's order (most frequent first)."""
    with open(_names_file()) as f:
        return tuple(line.split()[0].lower() for line in f if line.strip())


SPLITS = ("train", "validation", "held_out")


def part_of(name: str) -> str:
    """The split a name belongs to, fixed by a hash of the name (not by position: the list is sorted by
    frequency): the first byte of its SHA-1 below 26 is held out (about 10%), 26 to 38 validation (about 5%)."""
    byte = hashlib.sha1(name.encode()).digest()[0]
    return "held_out" if byte < 26 else "validation" if byte < 39 else "train"


@lru_cache(maxsize=3)
def split(part: str) -> tuple[str, ...]:
    """The names of "train", "validation" or "held_out"."""
    if part not in SPLITS:
        raise ValueError(f"The split is one of {', '.join(SPLITS)}.")
    return tuple(n for n in all_names() if part_of(n) == part)


@lru_cache(maxsize=1)
def training_names() -> frozenset[str]:
    """The training split as a set, built once (novelty checks look names up in it)."""
    return frozenset(split("train"))


def encode(text: str, pad: bool = True) -> np.ndarray:
    """A name as int64 token ids (SEQ_LEN,), padded with PAD; `MASK` ('_') becomes MASK_ID. Raises a
    ValueError that says what is wrong: empty, too long, or characters outside a-z."""
    if not isinstance(text, str):
        raise ValueError("Type a name (letters a-z).")
    if len(text) > MAX_TEXT:
        raise ValueError(f"That is {len(text):,} characters; a name here has at most {SEQ_LEN}.")
    text = text.strip().lower()
    if not text:
        raise ValueError("Type a name first (letters a-z).")
    if len(text) > SEQ_LEN:
        raise ValueError(f"At most {SEQ_LEN} characters, please; '{text[:20]}…' has {len(text)}.")
    bad = sorted({c for c in text if c not in VOCAB and c != MASK})
    if bad:
        shown = ", ".join(repr(c) for c in bad[:5])
        raise ValueError(f"Only the letters a-z (and '.' for the end, '_' for a hidden character): {shown} cannot be used.")
    ids = [MASK_ID if c == MASK else VOCAB.index(c) for c in text]
    if pad:
        ids += [PAD_ID] * (SEQ_LEN - len(ids))
    return np.asarray(ids, dtype=np.int64)


def decode(ids, show_mask: bool = True) -> str:
    """Token ids -> text; the name ends at its first PAD (later characters are dropped)."""
    out = []
    for i in np.asarray(ids).reshape(-1).tolist():
        if i == MASK_ID:
            out.append(MASK if show_mask else "")
        elif i == PAD_ID:
            break
        else:
            out.append(VOCAB[i])
    return "".join(out)


def as_tokens(part: str) -> np.ndarray:
    """A split as int64 (N, SEQ_LEN) token ids."""
    return np.stack([encode(n) for n in split(part)])
