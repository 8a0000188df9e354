"""Small pieces of English for the text the app writes: plurals, articles, and what a cached timing is worth."""
from __future__ import annotations


def plural(n, word: str, many: str | None = None) -> str:
    """'1 step', '2 steps' (or the given plural form)."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def article(word) -> str:
    """'a' or 'an' before `word` as it is said aloud: 'an 8', 'an 11', 'a 7', 'an image'."""
    w = str(word).strip().lower()
    spoken_vowel = w[:1] in "aeio" or w.startswith(("8", "11", "18")) or (w[:1] == "u" and not w.startswith("uni"))
    return "an" if spoken_vowel else "a"


CACHED_SHARE = 0.05  # from this share of a generation's rows served by the cache on, its timing is the cache's


def cache_note(reused: float) -> str:
    """What a generation's timing is worth when the shared batcher's cache of an identical recent run answered
    a share `reused` (0 .. 1) of its network rows: '' under CACHED_SHARE, else a note that the time is not its cost."""
    if reused < CACHED_SHARE:
        return ""
    return (f" ({reused:.0%} of its network rows came from the cache of an identical recent run, "
            "so this is not its cost: try another seed)")
