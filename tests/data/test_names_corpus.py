"""The text corpus: read from the installed package, split once, encoded and decoded, bad text refused."""
import pytest

from diffusion_core.data import names_corpus as nc


def test_the_corpus_and_its_split():
    names = nc.all_names()
    assert len(names) > 80_000 and all(set(n) <= set(nc.LETTERS) and len(n) <= nc.SEQ_LEN for n in names[:5000])
    train, valid, held = (set(nc.split(part)) for part in ("train", "validation", "held_out"))
    assert not train & held and not train & valid and not valid & held
    assert len(train) + len(valid) + len(held) == len(names)
    assert 0.08 < len(held) / len(names) < 0.12 and 0.04 < len(valid) / len(names) < 0.06


def test_encode_decode_round_trip_and_masks():
    for name in ("smith", "o", "abcdefghijklmnop"):
        assert nc.decode(nc.encode(name)) == name
    ids = nc.encode("sm_th")
    assert ids[2] == nc.MASK_ID and len(ids) == nc.SEQ_LEN and nc.decode(ids) == "sm_th"


@pytest.mark.parametrize("text,words", [("", "Type a name"), ("   ", "Type a name"), ("smith1", "cannot be used"),
                                        ("<b>x</b>", "cannot be used"), ("a" * 17, "At most 16"),
                                        ("x" * 1_000_000, "1,000,000 characters"), (None, "Type a name")])
def test_bad_text_gets_a_clear_message(text, words):
    with pytest.raises(ValueError, match=words):
        nc.encode(text)
