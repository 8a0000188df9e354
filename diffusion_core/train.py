"""Training entry point: `python -m diffusion_core.train {dit,classifier,gan,vae,text} [options]`.

Each model's trainer lives in its own file (`train_<model>.py`) with `add_<model>_args` and `train_<model>`.
"""
from __future__ import annotations

import argparse
import importlib
import sys

TRAINERS = {
    "dit": "diffusion_core.training.train_dit",
    "classifier": "diffusion_core.training.train_classifier",
    "gan": "diffusion_core.training.train_gan",
    "vae": "diffusion_core.training.train_vae",
    "text": "diffusion_core.training.train_text",
}


def train_main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m diffusion_core.train", description=__doc__)
    sub = parser.add_subparsers(dest="model", required=True)
    modules = {}
    for name, path in TRAINERS.items():
        try:
            modules[name] = importlib.import_module(path)
        except ModuleNotFoundError as exc:
            if exc.name != path:
                raise
            continue
        p = sub.add_parser(name, help=(modules[name].__doc__ or "").strip().splitlines()[0])
        getattr(modules[name], f"add_{name}_args")(p)
    args = parser.parse_args(argv)
    args.command = " ".join(["python -m diffusion_core.train", *(sys.argv[1:] if argv is None else argv)])  # as typed
    getattr(modules[args.model], f"train_{args.model}")(args)
    return 0


if __name__ == "__main__":
    sys.exit(train_main())
