"""The one table of cited works (`diffusion_core.references`): every key and place cited resolves, every
author-year citation in the sources, the cards and the README names a work of the table by its label, every
work is cited somewhere, and the README's list is the table's."""
import re
from pathlib import Path

import pytest

from diffusion_core import references as refs

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "diffusion_core").rglob("*.py")) + [ROOT / "app.py"]
CARDS = sorted((ROOT / "assets").rglob("*_card.md"))
README = ROOT / "README.md"
# 'Ho et al. 2020', 'Nichol & Dhariwal 2021', 'Song, Meng & Ermon 2021', 'Vincent 2011'
AUTHOR_YEAR = re.compile(r"\b([A-Z][\w\-]+(?: et al\.| & [A-Z][\w\-]+|, [A-Z][\w\-]+ & [A-Z][\w\-]+)?),? \(?((?:19|20)\d\d)\b")


def readme_body() -> str:
    text = README.read_text()
    return text.split(refs.README_START)[0] + text.split(refs.README_END)[1]


def texts() -> dict[str, str]:
    return {**{str(p.relative_to(ROOT)): p.read_text() for p in SOURCES + CARDS}, "README.md": readme_body()}


def test_every_key_and_place_cited_in_the_sources_resolves():
    found = [(name, m.group(1), m.group(2)) for name, text in texts().items() for m in refs.CITE.finditer(text)]
    assert len(found) > 20
    for name, key, where in found:
        refs.cite(key, where)  # raises, naming the key or place, when the table lacks it


def test_a_citation_of_an_unknown_work_or_place_is_refused():
    with pytest.raises(ValueError, match="Unknown reference"):
        refs.cited("as shown by [@nobody2099 eq. 1]")
    with pytest.raises(ValueError, match="lists no claim"):
        refs.cited("[@ho2020ddpm eq. 99]")
    assert refs.cited("([@ho2020ddpm eq. 4])") == "(Ho et al. 2020, eq. 4)"


def test_every_author_year_citation_names_a_work_of_the_table():
    labels = {refs.in_text(k) for k in refs.WORKS}
    first_authors = {w.surnames()[0] for w in refs.WORKS.values()}
    bad = []
    for name, text in texts().items():
        for m in AUTHOR_YEAR.finditer(text):
            who, year = m.group(1), m.group(2)
            names = [who] + ([who.split(", ", 1)[1]] if ", " in who else [])  # 'DiT, Peebles & Xie' is 'Peebles & Xie'
            cited_as = [n for n in names if " et al." in n or " & " in n or n.split(" ")[0].rstrip(",") in first_authors]
            if cited_as and not any(f"{n} {year}" in labels for n in names):
                bad.append(f"{name}: {who} {year}")
    assert not bad, "citations that are not a label of references.WORKS: " + "; ".join(sorted(set(bad)))


def test_the_in_text_labels_are_unique():
    labels = [refs.in_text(k) for k in refs.WORKS]
    assert len(labels) == len(set(labels)), [x for x in labels if labels.count(x) > 1]


def test_every_work_of_the_table_is_cited_somewhere():
    every = "\n".join(texts().values())
    uncited = [k for k in refs.WORKS if f"[@{k}" not in every and refs.in_text(k) not in every]
    assert not uncited, uncited


def test_every_work_lists_what_the_app_takes_from_it():
    for key, work in refs.WORKS.items():
        assert work.authors and work.title and work.venue and work.claims, key
        assert all(re.match(r"(eq|sec|fig|alg|app|table|abstract)", where) for where in work.claims), key


def test_the_readme_lists_the_table():
    text = README.read_text()
    assert refs.readme_with_references(text) == text, "run python -m diffusion_core.references --write-readme"
