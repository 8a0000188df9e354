"""What a learner reads: lessons, reveals, tab texts and model cards. Every figure in them is read from a record
(the measured JSON, the model's JSON, its schedule), never typed into the text: a number written into a string
of these sources must be a definition or a setting listed below with its reason. Every citation in the rendered
texts is written out from `diffusion_core.references` (no `[@...]` left, every author-year a work of the table)."""
import ast
import json
import re
from pathlib import Path

import pytest

from diffusion_core import references as refs

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "diffusion_core" / "app").rglob("*.py")) + [ROOT / "diffusion_core" / "model_cards.py",
                                                                      ROOT / "diffusion_core" / "text_model_cards.py", ROOT / "app.py"]
# A figure: a number with a unit (%, ms, x, s, min), a decimal, or an integer of 17 or more.
FIGURE = re.compile(r"(?<![\w.#/-])(\d+(?:,\d{3})*(?:\.\d+)?(?:\s?%|\s?ms\b|x\b| s\b| min\b)|\d+\.\d+|[2-9]\d+|1[7-9]|\d{3,})(?![\w.%])")
NOT_PROSE = re.compile(r"\[@[^\]]*\]|rgba?\([^)]*\)|hsla?\([^)]*\)|[\d.]+(?:em|rem|px)\b|\{[^{}]*\}|\d+\.\d+\.\d+|\d+x\d+")
# Numbers a text may write out, each a definition, a setting, a constant of a formula, a version or a paper's figure.
ALLOWED = {
    "10%": "a lesson's choice, or the learning rate's floor (a setting)", "50%": "a lesson's choice", "90%": "a lesson's choice",
    "20%": "the stability window (a definition); Nichol & Dhariwal's fig. 4 skips 20% (the paper's figure)",
    "30%": "the score lab's error colours (a definition)", "99%": "a quality target", "98%": "a quality target",
    "2x": "a quality target", "0.85": "a quality target",
    "0.008": "the cosine schedule's s (Nichol & Dhariwal 2021, eq. 17)", "0.999": "the cosine schedule's clip of beta",
    "0.0001": "an example of pasted betas", "0.0002": "an example of pasted betas", "0.0003": "an example of pasted betas",
    "0.05": "the 'almost pure noise' threshold of the schedule count (a definition)",
    "0.36": "the race's mode radius, 3 standard deviations of 0.12 (a definition)", "32": "1/32 of the samples (a definition)",
    "0.01": "a learning rate or a weight decay (a setting)", "0.001": "the smallest mask rate drawn (a setting)",
    "0.2": "LeakyReLU's slope (a setting)", "0.5": "Adam's beta1 (a setting)", "1.5": "Stable Diffusion 1.5 (a version)",
    "3.0": "CC BY-SA 3.0 (a licence)", "1.45": "CSS", "1.05": "CSS", "1.3": "CSS", "0.82": "CSS",
    "1990": "the Census year",
    "20": "a setting (20 MB uploads, 20 steps, guidance up to 20)", "31": "2^31 (the seed's range)", "49": "7x7 tokens",
    "60": "60,000 MNIST training digits", "000": "60,000 MNIST training digits", "64": "channels", "128": "channels, batch 128",
    "27": "characters of the vocabulary", "100": "a button's step", "200": "a button's step", "500": "a lesson's t",
    "600": "a lesson's t", "784": "a lesson's choice", "999": "the last timestep", "1000": "T, or N in a fold", "8000": "a command",
    "18": "a word list", "45%": "CSS", "70%": "CSS",
}


def string_literals(tree: ast.AST):
    """(line, text) of every string constant that is not a docstring or an f-string's format spec."""
    skip = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            skip.add(id(body[0].value))
        if isinstance(node, ast.FormattedValue) and node.format_spec is not None:
            skip.update(id(c) for c in ast.walk(node.format_spec))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            yield node.lineno, node.value


def test_no_figure_is_typed_into_a_learner_text():
    typed = []
    for path in SOURCES:
        for line, text in string_literals(ast.parse(path.read_text())):
            for m in FIGURE.finditer(NOT_PROSE.sub(" ", text)):
                if m.group(0).strip() not in ALLOWED:
                    typed.append(f"{path.relative_to(ROOT)}:{line}: {m.group(0)!r} in {text.strip()[:80]!r}")
    assert not typed, "figures typed into learner texts (read them from a record):\n" + "\n".join(typed)


@pytest.mark.parametrize("text, found", [("8 blocks cost 1.3x the compute of 6 (62 vs 40 ms)", {"1.3x", "62", "40 ms"}),
                                         ("and 50 network evaluations per sample", {"50"}), ("4.5 ms per step", {"4.5 ms"}),
                                         ("(Ho et al. 2020, eq. 4) and [@ho2020ddpm eq. 14]", {"2020"})])
def test_the_check_finds_typed_figures(text, found):
    assert {m.group(0).strip() for m in FIGURE.finditer(NOT_PROSE.sub(" ", text))} == found


def rendered_texts() -> dict[str, str]:
    """Every lesson, reveal and banner, every model card and the comparison table, as a learner reads them."""
    from diffusion_core import model_cards
    from diffusion_core.app.compare.compare_ui import comparison_table
    from diffusion_core.app.learn import lessons as ls
    from diffusion_core.evaluation.comparison import MATCHED, MATCHED_DIR
    from diffusion_core.paths import ASSETS_DIR
    from diffusion_core.text_model_cards import text_card

    out = {}
    for i, lesson in enumerate(ls.LESSONS):
        out[f"lesson {i + 1}"] = ls.lesson_markdown(i)
        out[f"reveal {i + 1}"] = ls.reveal(i, lesson.choices[lesson.right_answer()])
        out[f"banner {i + 1}"] = ls.look_for_banner(i)
    report = json.loads((ASSETS_DIR / "comparison.json").read_text())
    for kind, folder, column in (("dit", ASSETS_DIR, "dit"), ("dit", MATCHED_DIR, MATCHED), ("gan", ASSETS_DIR, "gan"),
                                 ("vae", ASSETS_DIR, "vae")):
        meta_path = folder / f"{kind}_mnist.json"
        if meta_path.exists():
            stem = None if folder == ASSETS_DIR else f"{folder.name}/{kind}_mnist"
            out[f"card {column}"] = model_cards.card(kind, json.loads(meta_path.read_text()), report["models"].get(column), report, stem)
    figures = json.loads((ASSETS_DIR / "text_figures.json").read_text())
    for kind in ("text_mdlm", "text_ar"):
        out[f"card {kind}"] = text_card(kind, json.loads((ASSETS_DIR / f"{kind}.json").read_text()), figures)
    out["comparison table"] = comparison_table()
    return out


def test_every_citation_a_learner_reads_is_written_out_from_the_table():
    labels = {refs.in_text(k) for k in refs.WORKS}
    texts = rendered_texts()
    for name, text in texts.items():
        assert "[@" not in text, f"{name}: a citation key was not written out"
        for m in re.finditer(r"\b([A-Z][\w\-]+(?: et al\.| & [A-Z][\w\-]+)) ((?:19|20)\d\d)\b", text):
            assert f"{m.group(1)} {m.group(2)}" in labels or any(label.endswith(f"{m.group(1)} {m.group(2)}") for label in labels), \
                f"{name}: {m.group(0)}"


def test_the_shipped_cards_are_the_ones_the_generators_write():
    """The cards in assets/ are regenerated after every change of their JSON or records."""
    from diffusion_core.paths import ASSETS_DIR

    texts = rendered_texts()
    for column, path in (("dit", "dit_mnist_card.md"), ("gan", "gan_mnist_card.md"), ("vae", "vae_mnist_card.md"),
                         ("text_mdlm", "text_mdlm_card.md"), ("text_ar", "text_ar_card.md"),
                         ("dit_matched", "dit_matched/dit_mnist_card.md")):
        assert (ASSETS_DIR / path).read_text() == texts[f"card {column}"], \
            f"{path} is stale: python -m diffusion_core.model_cards; python -m diffusion_core.text_model_cards"


# Characters a page can only draw with an emoji font, which many machines lack (they show as empty boxes):
# pictographs, misc symbols, dingbats (but the plain check mark and cross), media-control arrows, the emoji selector.
NEEDS_EMOJI_FONT = re.compile("[\U0001F000-\U0001FAFF\u2600-\u26FF\u2700-\u2712\u2714-\u2716\u2718-\u27BF\u2B00-\u2BFF"
                              "\u23E9-\u23FA\uFE0F\u2139]")


def test_no_text_needs_an_emoji_font():
    """Issue 32, item 16: buttons and messages showed boxes where no emoji font exists."""
    found = [f"{path.relative_to(ROOT)}:{line}: {text.strip()[:60]!r}" for path in SOURCES
             for line, text in string_literals(ast.parse(path.read_text())) if NEEDS_EMOJI_FONT.search(text)]
    assert not found, "\n".join(found)
