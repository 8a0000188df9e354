"""The text reverse process: the masked share follows the schedule, committed and pinned characters never
change, the rules and the autoregressive twin run, bad settings get messages."""
import pytest
import torch

from diffusion_core.data import names_corpus as nc
from diffusion_core.networks.text_dit import TextDiT, TextDiTConfig
from diffusion_core.pipelines.text_generation import autoregressive_names, diffusion_steps, generate_names


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = TextDiT(TextDiTConfig(vocab_size=len(nc.VOCAB), hidden_size=32, depth=2)).eval()
    for p in m.parameters():
        p.data.add_(0.05 * torch.randn_like(p))
    return m


@pytest.mark.parametrize("rule", ["random", "confident", "entropy"])
def test_unmasking_follows_the_schedule_and_never_takes_back(model, rule):
    steps = list(diffusion_steps(model, n=8, steps=8, rule=rule, seed=1))
    assert len(steps) == 8 and steps[-1].passes == 8
    for rec in steps:
        masked_after = (rec.after == nc.MASK_ID).sum(1)
        assert torch.all(masked_after == round(nc.SEQ_LEN * (1 - (rec.step + 1) / 8)))  # linear: t = 1 - k/K
        committed = rec.tokens != nc.MASK_ID
        assert torch.equal(rec.after[committed], rec.tokens[committed])
        assert torch.all(rec.unmasked <= (rec.tokens == nc.MASK_ID))
    assert not (steps[-1].after == nc.MASK_ID).any()


def test_infill_never_changes_pinned_characters(model):
    for seed in range(3):
        rec = list(diffusion_steps(model, n=6, steps=5, seed=seed, pattern="s__th"))[-1]
        for row in rec.after:
            assert nc.decode(row, show_mask=False)[0] == "s" and row[3] == nc.VOCAB.index("t") and row[4] == nc.VOCAB.index("h")
    names, passes = generate_names(model, n=4, steps=4, pattern="a*")
    assert passes == 4 and all(name.startswith("a") for name in names)


def test_an_infill_pattern_fixes_the_length_unless_it_ends_open(model):
    """Issue 32, item 15: 'sm__h' gave 'smithlery'; the name now ends where the pattern ends, '*' lets it run on."""
    for seed in range(3):
        names, _ = generate_names(model, n=6, steps=5, seed=seed, pattern="sm__h")
        assert all(len(name) == 5 and name.startswith("sm") and name.endswith("h") for name in names), names
    free = [generate_names(model, n=6, steps=5, seed=seed, pattern="sm__h*")[0] for seed in range(3)]
    assert any(len(name) != 5 for names in free for name in names)
    with pytest.raises(ValueError, match="may only end"):
        generate_names(model, n=2, steps=2, pattern="s*h")


def test_the_twin_continues_the_prefix_it_can_use(model):
    from diffusion_core.pipelines.text_generation import usable_prefix

    twin = TextDiT(TextDiTConfig(vocab_size=len(nc.VOCAB), hidden_size=32, depth=2, causal=True)).eval()
    assert usable_prefix("sm__h") == "sm" and usable_prefix("_ith") == "" and usable_prefix("jo*") == "jo"
    names, passes = autoregressive_names(twin, n=5, seed=0, prefix="sm")
    assert all(name.startswith("sm") for name in names) and passes <= nc.SEQ_LEN - 2


def test_the_twin_and_bad_settings(model):
    twin = TextDiT(TextDiTConfig(vocab_size=len(nc.VOCAB), hidden_size=32, depth=2, causal=True)).eval()
    names, passes = autoregressive_names(twin, n=5, seed=0)
    assert len(names) == 5 and 1 <= passes <= nc.SEQ_LEN
    for kw, words in [({"n": 0}, "names"), ({"steps": 0}, "steps"), ({"rule": "<x>"}, "rule")]:
        with pytest.raises(ValueError, match=words):
            next(diffusion_steps(model, **kw))
    with pytest.raises(ValueError, match="cannot be used"):
        next(diffusion_steps(model, pattern="sm1th"))
