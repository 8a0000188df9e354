"""Saving and loading the shipped weights: `assets/<name>.safetensors` plus `assets/<name>.json`.

`load_pretrained("dit")` reads the bundled files. When the environment variable
`DIFFUSION_CLASSROOM_HUB_REPO` names a Hugging Face Hub model repo (e.g. `user/diffusion-classroom`),
the files are fetched with `huggingface_hub.hf_hub_download` (so a Space can pull newer weights);
any failure there (offline, missing file, no such repo) falls back to the bundled copy with a
warning. Every failure to load gives a `WeightsError` whose message says what to do.
"""
from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"
HUB_ENV = "DIFFUSION_CLASSROOM_HUB_REPO"
WEIGHTS_ENV = "DIFFUSION_CLASSROOM_WEIGHTS_DIR"  # read the weights from this folder instead of assets/
FILE_NAMES = {"dit": "dit_mnist", "classifier": "classifier_mnist", "gan": "gan_mnist", "vae": "vae_mnist"}
TRAIN_HINT = {
    "dit": "python -m diffusion_core.train dit --export assets/dit_mnist",
    "classifier": "python -m diffusion_core.train classifier --export assets/classifier_mnist",
    "gan": "python -m diffusion_core.train gan --export assets/gan_mnist",
    "vae": "python -m diffusion_core.train vae --export assets/vae_mnist",
}


class WeightsError(RuntimeError):
    """Weights that are missing, corrupt or do not fit the model they claim to be."""


@dataclass
class Pretrained:
    model: torch.nn.Module  # in eval mode, on the requested device
    meta: dict  # the JSON: config, schedule, training facts, metrics
    source: str  # where the weights came from: a file path, or hub:<repo>


def save_pretrained(model: torch.nn.Module, stem, meta: dict) -> None:
    """Write `<stem>.safetensors` (float32 weights) and `<stem>.json` (meta)."""
    from safetensors.torch import save_file

    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().float().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(tensors, str(stem) + ".safetensors", metadata={"kind": str(meta.get("kind", ""))})
    with open(str(stem) + ".json", "w") as f:
        json.dump(meta, f, indent=2)


def build_model(kind: str, config: dict) -> torch.nn.Module:
    """An untrained model of the given kind from its JSON config."""
    if kind == "dit":
        from .dit import DiT, DiTConfig

        return DiT(DiTConfig.from_dict(config))
    if kind == "classifier":
        from .classifier import Classifier, ClassifierConfig

        return Classifier(ClassifierConfig(**config))
    if kind == "gan":
        from .gan import Generator, GANConfig

        return Generator(GANConfig(**config))
    if kind == "vae":
        from .vae import VAE, VAEConfig

        return VAE(VAEConfig(**config))
    raise WeightsError(f"Unknown model kind {kind!r}; known: {', '.join(FILE_NAMES)}.")


def _hub_files(kind: str, repo: str) -> tuple[Path, Path]:
    """Fetch both files from the Hub (or a local mirror of it: HF_HUB_CACHE / HF_HUB_OFFLINE apply)."""
    from huggingface_hub import hf_hub_download

    # Read at call time (huggingface_hub reads them once, at import): offline means cache only.
    offline = os.environ.get("HF_HUB_OFFLINE", "0").strip().lower() in ("1", "true", "yes", "on")
    kw = {"cache_dir": os.environ.get("HF_HUB_CACHE") or None, "local_files_only": offline}
    name = FILE_NAMES[kind]
    weights = hf_hub_download(repo_id=repo, filename=name + ".safetensors", **kw)
    meta = hf_hub_download(repo_id=repo, filename=name + ".json", **kw)
    return Path(weights), Path(meta)


def locate(kind: str, assets_dir=None) -> tuple[Path, Path, str]:
    """(weights path, meta path, source) for `kind`, trying the Hub first when configured."""
    if kind not in FILE_NAMES:
        raise WeightsError(f"Unknown model {kind!r}; choose one of {', '.join(FILE_NAMES)}.")
    repo = os.environ.get(HUB_ENV, "").strip()
    if repo and assets_dir is None:
        try:
            w, m = _hub_files(kind, repo)
            return w, m, f"hub:{repo}"
        except Exception as exc:  # offline, no such repo or file: use the bundled copy
            warnings.warn(f"Could not fetch {kind} weights from the Hub repo {repo!r} ({type(exc).__name__}); using the bundled assets.")
    root = Path(assets_dir) if assets_dir is not None else Path(os.environ.get(WEIGHTS_ENV) or ASSETS_DIR)
    stem = root / FILE_NAMES[kind]
    return Path(str(stem) + ".safetensors"), Path(str(stem) + ".json"), str(stem) + ".safetensors"


def read_meta(path: Path, kind: str) -> dict:
    try:
        with open(path) as f:
            meta = json.load(f)
    except FileNotFoundError:
        raise WeightsError(f"The {kind} config file {path} is missing. Restore it from the repository or retrain: {TRAIN_HINT[kind]}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise WeightsError(f"The {kind} config file {path} is not valid JSON ({exc}). Restore it from the repository.") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("config"), dict):
        raise WeightsError(f"The {kind} config file {path} has no 'config' section.")
    return meta


def read_weights(path: Path, kind: str) -> dict:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not path.exists():
        raise WeightsError(f"The {kind} weights file {path} is missing. Restore it from the repository or retrain: {TRAIN_HINT[kind]}")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(f"The {kind} weights file {path} is corrupt or truncated ({exc}). Restore it from the repository or retrain: {TRAIN_HINT[kind]}") from None


def load_pretrained(kind: str = "dit", device="cpu", assets_dir=None) -> Pretrained:
    """Load shipped weights (EMA weights for the DiT) into an eval-mode model on `device`."""
    weights_path, meta_path, source = locate(kind, assets_dir)
    meta = read_meta(meta_path, kind)
    try:
        model = build_model(kind, meta["config"])
    except (TypeError, ValueError) as exc:
        raise WeightsError(f"The {kind} config in {meta_path} does not describe a valid model: {exc}") from None
    state = read_weights(weights_path, kind)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise WeightsError(f"The {kind} weights in {weights_path} do not fit the model in its config ({first}). Were the files mixed up?") from None
    for name, tensor in state.items():
        if not torch.isfinite(tensor).all():
            raise WeightsError(f"The {kind} weights in {weights_path} contain NaN or infinity (tensor {name}); retrain or restore them.")
    return Pretrained(model.to(device).eval(), meta, source)
