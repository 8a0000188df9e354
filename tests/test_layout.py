"""The library's walls, read from its source: which subpackage may import which, that only the app
imports gradio, that no tab imports another, that modules stay small and every public name and file
name is used once. Each rule is the one `diffusion_core/__init__.py` states."""
import ast
import collections
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1] / "diffusion_core"

# A module may import only from its own layer or the ones below it.
LAYERS = {
    "paths": 0, "references": 0,
    "maths": 1, "data": 1, "networks": 1,
    "settings": 2,
    "pipelines": 3, "training": 3,
    "evaluation": 4, "classroom": 4,
    "app": 5,
    "sample": 6, "train": 6, "evaluate": 6, "compare": 6, "model_cards": 6, "text_model_cards": 6, "record_runs": 6,
    "serve_denoiser": 6,
}
TABS = ("forward", "reverse", "compare", "learn", "score", "race", "text", "cost")


def module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, ast.Module]:
    return {module_name(p): ast.parse(p.read_text(), str(p)) for p in sorted(ROOT.rglob("*.py"))}


def imported(name: str, tree: ast.Module) -> set[str]:
    """Every module `name` imports (absolute and relative imports, `from a import b` counted as a.b too)."""
    out = set()
    package = name.split(".") if name in PACKAGES else name.split(".")[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
            out.add(base)
            out.update(f"{base}.{a.name}" for a in node.names)
    return out


PACKAGES = {module_name(p.parent) for p in ROOT.rglob("__init__.py")}
MODULES = modules()


def subject(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else None


def test_every_part_of_the_library_has_a_layer():
    assert {subject(m) for m in MODULES} - {None} == set(LAYERS)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_only_point_down(name):
    mine = LAYERS[subject(name)] if subject(name) else 0
    upward = sorted(t for t in imported(name, MODULES[name])
                    if t.startswith("diffusion_core.") and subject(t) and subject(t) != subject(name)
                    and LAYERS.get(subject(t), -1) > mine)
    assert not upward, f"{name} (layer {mine}) imports upward: {upward}"


def test_only_the_app_imports_gradio():
    users = sorted(m for m, tree in MODULES.items() if any(t.split(".")[0] == "gradio" for t in imported(m, tree)))
    assert users and all(subject(m) == "app" for m in users), users


def test_only_the_ray_backend_imports_ray():
    """Ray is optional: the Ray Serve deployment and its client import it, nothing else (the local backend never)."""
    users = sorted(m for m, tree in MODULES.items() if any(t.split(".")[0] == "ray" for t in imported(m, tree)))
    assert users == ["diffusion_core.pipelines.ray_backend", "diffusion_core.pipelines.ray_deployment"], users


def test_no_tab_imports_another_tab():
    for name, tree in MODULES.items():
        parts = name.split(".")
        if len(parts) < 3 or parts[1] != "app" or parts[2] not in TABS:
            continue
        others = {t for t in imported(name, tree) for tab in TABS
                  if tab != parts[2] and t.startswith(f"diffusion_core.app.{tab}")}
        assert not others, f"{name} imports {sorted(others)}"


def test_modules_stay_under_400_lines():
    long = {p.name: n for p in ROOT.rglob("*.py") if (n := len(p.read_text().splitlines())) > 400}
    assert not long, long


def test_file_names_are_unique_across_the_tree():
    counts = collections.Counter(p.name for p in ROOT.rglob("*.py") if p.name != "__init__.py")
    assert not [n for n, c in counts.items() if c > 1]


def test_public_functions_and_classes_have_one_name_each():
    owners = collections.defaultdict(list)
    for name, tree in MODULES.items():
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
                owners[node.name].append(name)
    shared = {n: where for n, where in owners.items() if len(where) > 1}
    assert not shared, shared


def test_the_map_names_every_module():
    """The package docstring's map lists each module."""
    doc = ast.get_docstring(MODULES["diffusion_core"]) or ""
    missing = [m for m in MODULES if m != "diffusion_core" and not m.endswith("__init__")
               and m.split(".")[-1] not in doc and m not in PACKAGES]
    assert not missing, missing


def test_the_readme_table_names_every_module():
    readme = (ROOT.parent / "README.md").read_text()
    table = readme[readme.index("| layer | module |"):]
    table = table[: table.index("\n\n")]
    missing = [m for m in MODULES if m not in PACKAGES and pathlib.Path(*m.split(".")[1:]).name + ".py" not in table]
    assert not missing, missing
