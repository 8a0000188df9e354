"""The cost lab's recorded figures (assets/cost_figures.json, written by `benchmarks/cost_lab.py --record`): their
schema, a checked reader, and what the lesson and the Cost tab derive from them (each remedy against the default).

The file holds one entry per part, each with `measured` = {machine, created, command, seconds[, n, seed]}:

    frontier   {precision, guidance, rows: [QUALITY row + sampler, steps, spacing], presets: {default, fast},
                one_pass: {gan, vae}}
    precision  {images_per_step, setting, rows: [{dtype, available, ms_per_guided_step, weight_bytes,
                eps_difference, QUALITY...}]}
    pruning    {precision, what, setting, rows: [{fraction, tuned, tune, parameters, weight_bytes,
                ms_per_guided_step, QUALITY...}]}
    compute    {rows: [{patch_size, tokens, rows, flops_per_image: {part: n}, ms: {part: ms}}], guided: {...}}
    memory     {preset, rows: [{batch, checkpointing, step_mb, held_mb, method, device}]}

and, at the top, schema, command, created, machine, seconds (the whole recording), weights_steps.
A QUALITY row: passes, ms_per_image, accuracy, frechet_distance, frechet_distance_real_floor,
frechet_ratio_to_floor (precision and recall too).
"""
from __future__ import annotations

from numbers import Real
from pathlib import Path

from diffusion_core.evaluation.measured_figures import COST_FIGURES, read_measured

SCHEMA_VERSION = 1
PARTS = ("frontier", "precision", "pruning", "compute", "memory")
QUALITY = ("passes", "ms_per_image", "accuracy", "frechet_distance", "frechet_distance_real_floor", "frechet_ratio_to_floor")
MEASURED = ("machine", "created", "command", "seconds")
ROW_KEYS = {  # part -> (where its rows are, the numbers each row must have)
    "frontier": ("rows", QUALITY + ("steps",)),
    "precision": ("rows", ()),  # an unavailable dtype has no figures: `_extra_problems` checks the others
    "pruning": ("rows", QUALITY + ("fraction", "parameters", "weight_bytes", "ms_per_guided_step")),
    "compute": ("rows", ("patch_size", "tokens", "rows")),
    "memory": ("rows", ("batch", "step_mb", "held_mb")),
}


def _number(value) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and value == value


def _row_problems(part: str, rows) -> list[str]:
    key, numbers = ROW_KEYS[part]
    if not isinstance(rows, list) or not rows:
        return [f"{part}: no {key}"]
    bad = [f"{part} row {i}: {k} is not a number" for i, r in enumerate(rows) for k in numbers
           if not isinstance(r, dict) or not _number(r.get(k))]
    return bad[:3]


def _extra_problems(name: str, part: dict) -> list[str]:
    """What a part needs beyond its rows: the frontier's presets and one-pass models, the available precisions'
    figures, the compute rows' operation and time splits."""
    if name == "frontier":
        groups = {**{f"preset {k}": v for k, v in (part.get("presets") or {}).items()},
                  **{f"one-pass {k}": v for k, v in (part.get("one_pass") or {}).items()}}
        missing = [g for g in ("preset default", "preset fast", "one-pass gan", "one-pass vae") if g not in groups]
        return [f"frontier: no {g}" for g in missing] + [f"frontier {g}: {k} is not a number" for g, r in groups.items()
                                                          for k in QUALITY if not _number(r.get(k))][:3]
    if name == "precision":
        unnamed = [f"precision row {i}: no dtype" for i, r in enumerate(part["rows"]) if not isinstance(r.get("dtype"), str)]
        return (unnamed + [f"precision {r.get('dtype')}: {k} is not a number" for r in part["rows"] if r.get("available", True)
                           for k in QUALITY + ("ms_per_guided_step", "weight_bytes") if not _number(r.get(k))])[:3]
    if name == "compute":
        return [f"compute patch {r.get('patch_size')}: no {k}" for r in part["rows"] for k in ("flops_per_image", "ms")
                if not isinstance(r.get(k), dict)]
    return []


def part_problems(data: dict, name: str) -> list[str]:
    """What is wrong with part `name` of the figures ([] when it can be read)."""
    part = data.get(name)
    if not isinstance(part, dict):
        return [f"{name}: not recorded"]
    measured = part.get("measured")
    problems = [] if isinstance(measured, dict) and all(k in measured for k in MEASURED) else [f"{name}: no measured"]
    problems += _row_problems(name, part.get(ROW_KEYS[name][0]))
    return problems or _extra_problems(name, part)


def schema_problems(data) -> list[str]:
    """Everything wrong with a figures file's content ([] when the whole file can be read)."""
    if not isinstance(data, dict):
        return ["not a JSON object"]
    if data.get("schema") != SCHEMA_VERSION:
        return [f"schema {data.get('schema')!r}, not {SCHEMA_VERSION}"]
    return [p for name in PARTS for p in part_problems(data, name)]


def read_cost_figures(path: Path = COST_FIGURES) -> dict | None:
    """The recorded figures (read again when the file changes), or None when missing, unreadable or of another
    schema version; a part that cannot be read is left out (see `part_problems`)."""
    data = read_measured(path)
    if not data or data.get("schema") != SCHEMA_VERSION:
        return None
    return {k: v for k, v in data.items() if k not in PARTS or not part_problems(data, k)}


# How each remedy is timed against the default: the fast preset per digit (both sampled in the frontier part, one
# after the other); int8 and pruning per guided 16-digit step, the median of steps timed in turn within their part
# (same passes, so the same ratio per digit; their quality runs share one cached sampling of the default, timed in the
# frontier part, so their ms per digit is not a same-part comparison).
TIMINGS = {"fast": ("ms_per_image", "per digit"), "int8": ("ms_per_guided_step", "per guided 16-digit step"),
           "pruned": ("ms_per_guided_step", "per guided 16-digit step")}


def remedy_rows(data: dict) -> dict[str, tuple[dict | None, dict | None]]:
    """The recorded rows of the three remedies the lesson weighs, each beside the default it is weighed against in
    its own part of the recording: fewer steps (the fast preset, against the frontier's default), int8 (against the
    precision part's row at the app's precision, else float32), half of every MLP pruned and fine-tuned (against the
    pruning part's unpruned row). (row, base); None where not recorded."""
    frontier, precision, pruning = (data.get(k) or {} for k in ("frontier", "precision", "pruning"))
    presets = frontier.get("presets") or {}
    dtypes = {r.get("dtype"): r for r in precision.get("rows", []) if r.get("available", True)}
    fractions = {(r.get("fraction"), bool(r.get("tuned"))): r for r in pruning.get("rows", [])}
    return {"fast": (presets.get("fast"), presets.get("default")),
            "int8": (dtypes.get("int8"), dtypes.get(frontier.get("precision")) or dtypes.get("float32")),
            "pruned": (fractions.get((0.5, True)), fractions.get((0.0, False)))}


def remedies(data: dict) -> list[dict]:
    """Each remedy against the default as `TIMINGS` times it: [{name, key, ms, base_ms, unit, speedup,
    accuracy_drop_points, frechet_ratio_to_floor, passes}], in the order fast, int8, pruned; figures None where a
    row is missing."""
    names = {"fast": "the fast preset", "int8": "int8 weights and activations",
             "pruned": "half of every MLP pruned, fine-tuned"}
    out = []
    for key, (row, base) in remedy_rows(data).items():
        ok = bool(base and row)
        time_key, unit = TIMINGS[key]
        out.append({"name": names[key], "key": key, "unit": unit, "ms": row[time_key] if row else None,
                    "base_ms": base[time_key] if ok else None,
                    "speedup": base[time_key] / row[time_key] if ok else None,
                    "accuracy_drop_points": 100 * (base["accuracy"] - row["accuracy"]) if ok else None,
                    "frechet_ratio_to_floor": row["frechet_ratio_to_floor"] if row else None,
                    "passes": row.get("passes") if row else None})
    return out


def cheapest_remedy(data: dict | None) -> int | None:
    """The index (in `remedies` order) of the remedy with the largest speed-up over its own part's default; None
    when any is missing."""
    found = remedies(data or {})
    if any(r["speedup"] is None for r in found):
        return None
    return max(range(len(found)), key=lambda k: found[k]["speedup"])
