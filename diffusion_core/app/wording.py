"""Small pieces of English for the text the app writes: plurals and articles."""
from __future__ import annotations


def plural(n, word: str, many: str | None = None) -> str:
    """'1 step', '2 steps' (or the given plural form)."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def article(word) -> str:
    """'a' or 'an' before `word` as it is said aloud: 'an 8', 'an 11', 'a 7', 'an image'."""
    w = str(word).strip().lower()
    spoken_vowel = w[:1] in "aeio" or w.startswith(("8", "11", "18")) or (w[:1] == "u" and not w.startswith("uni"))
    return "an" if spoken_vowel else "a"
