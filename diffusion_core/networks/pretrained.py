"""Saving and loading the shipped weights: `assets/<name>.safetensors` plus `assets/<name>.json`.

`load_pretrained("dit")` reads the bundled files. When the environment variable
`DIFFUSION_CLASSROOM_HUB_REPO` names a Hugging Face Hub model repo (e.g. `user/diffusion-classroom`),
the files are fetched with `huggingface_hub.hf_hub_download` (so a Space can pull newer weights);
any failure there (offline, missing file, no such repo) falls back to the bundled copy with a
warning. Every failure to load gives a `WeightsError` whose message says what to do.

Before anything is built, the JSON's config is checked against fixed limits and the weights file's
header against the config (sizes, not values), so an absurd config costs nothing; the file's sha256
must equal the one its JSON records (a silently damaged file is refused, not used). A failed load
is remembered until either file changes, so a broken model costs one attempt, not one per request.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from diffusion_core.paths import ASSETS_DIR, shown_path

HUB_ENV = "DIFFUSION_CLASSROOM_HUB_REPO"
WEIGHTS_ENV = "DIFFUSION_CLASSROOM_WEIGHTS_DIR"  # read the weights from this folder instead of assets/
FILE_NAMES = {"dit": "dit_mnist", "classifier": "classifier_mnist", "gan": "gan_mnist", "vae": "vae_mnist",
              "text_mdlm": "text_mdlm", "text_ar": "text_ar"}
TRAIN_HINT = {
    "dit": "python -m diffusion_core.train dit --export assets/dit_mnist",
    "classifier": "python -m diffusion_core.train classifier --export assets/classifier_mnist",
    "gan": "python -m diffusion_core.train gan --export assets/gan_mnist",
    "vae": "python -m diffusion_core.train vae --export assets/vae_mnist",
    "text_mdlm": "python -m diffusion_core.train text --kind diffusion --out runs/text_mdlm --export assets/text_mdlm",
    "text_ar": "python -m diffusion_core.train text --kind ar --out runs/text_ar --export assets/text_ar",
}


# A model this project ships has a few million parameters; anything far larger is a broken config.
MAX_PARAMS = 50_000_000
CONFIG_LIMITS = {  # every integer field of every config: (low, high)
    "image_size": (4, 128), "in_channels": (1, 4), "patch_size": (1, 16), "hidden_size": (4, 2048),
    "depth": (1, 64), "num_heads": (1, 64), "num_classes": (1, 1000), "z_dim": (1, 4096), "width": (1, 1024),
    "embed_dim": (1, 4096), "latent_dim": (1, 4096), "hidden": (1, 8192), "feature_dim": (1, 8192),
    "vocab_size": (2, 1024), "seq_len": (1, 1024),
}
FLOAT_LIMITS = {"mlp_ratio": (0.25, 16.0), "class_dropout_prob": (0.0, 1.0), "dropout": (0.0, 1.0)}


class WeightsError(RuntimeError):
    """Weights that are missing, corrupt or do not fit the model they claim to be."""


@dataclass
class Pretrained:
    model: torch.nn.Module  # in eval mode, on the requested device
    meta: dict  # the JSON: config, schedule, training facts, metrics
    source: str  # where the weights came from: a file path, or hub:<repo>


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save_pretrained(model: torch.nn.Module, stem, meta: dict) -> None:
    """Write `<stem>.safetensors` (float32 weights) and `<stem>.json` (meta, with the weights' sha256)."""
    from safetensors.torch import save_file

    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().float().cpu().contiguous() for k, v in model.state_dict().items()}
    weights = Path(str(stem) + ".safetensors")
    save_file(tensors, str(weights), metadata={"kind": str(meta.get("kind", ""))})
    weights.chmod(0o644)  # safetensors writes 0600: an app run by another user could not read the export
    meta = {**meta, "sha256": file_sha256(weights)}
    with open(str(stem) + ".json", "w") as f:
        json.dump(meta, f, indent=2)


def check_config(kind: str, config: dict) -> torch.nn.Module:
    """The model a config describes, built on the meta device (shapes only: no memory, no time);
    a config outside the limits above is refused first (ValueError)."""
    for key, value in config.items():
        if key in CONFIG_LIMITS:
            lo, hi = CONFIG_LIMITS[key]
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                raise ValueError(f"'{key}' must be a whole number from {lo} to {hi}, got {str(value)[:20]}")
        elif key in FLOAT_LIMITS:
            lo, hi = FLOAT_LIMITS[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
                raise ValueError(f"'{key}' must be a number from {lo} to {hi}, got {str(value)[:20]}")
    with torch.device("meta"):
        model = build_model(kind, config)
    n = sum(p.numel() for p in model.parameters())
    if n > MAX_PARAMS:
        raise ValueError(f"it describes {n / 1e6:.0f} M parameters; the limit is {MAX_PARAMS / 1e6:.0f} M")
    return model


def build_model(kind: str, config: dict) -> torch.nn.Module:
    """An untrained model of the given kind from its JSON config."""
    if kind == "dit":
        from diffusion_core.networks.dit import DiT, DiTConfig

        return DiT(DiTConfig.from_dict(config))
    if kind == "classifier":
        from diffusion_core.networks.classifier import Classifier, ClassifierConfig

        return Classifier(ClassifierConfig(**config))
    if kind == "gan":
        from diffusion_core.networks.gan import Generator, GANConfig

        return Generator(GANConfig(**config))
    if kind == "vae":
        from diffusion_core.networks.vae import VAE, VAEConfig

        return VAE(VAEConfig(**config))
    if kind in ("text_mdlm", "text_ar"):
        from diffusion_core.networks.text_dit import TextDiT, TextDiTConfig

        return TextDiT(TextDiTConfig.from_dict(config))
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
    where = shown_path(path)
    try:
        if path.stat().st_size > 1 << 20:
            raise WeightsError(f"The {kind} config file {where} is over 1 MB; a config is a few KB. Restore it from the repository.")
        with open(path) as f:
            meta = json.load(f)
    except FileNotFoundError:
        raise WeightsError(f"The {kind} config file {where} is missing. Restore it from the repository or retrain: {TRAIN_HINT[kind]}") from None
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise WeightsError(f"The {kind} config file {where} is not valid JSON ({type(exc).__name__}). Restore it from the repository.") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("config"), dict):
        raise WeightsError(f"The {kind} config file {where} has no 'config' section.")
    return meta


def header_shapes(path: Path, kind: str) -> dict[str, tuple[int, ...]]:
    """Tensor name -> shape from a safetensors file's header, without reading the tensors."""
    broken = (f"The {kind} weights file {shown_path(path)} is corrupt or truncated (unreadable header). "
              f"Restore it from the repository or retrain: {TRAIN_HINT[kind]}")
    if not path.exists():
        raise WeightsError(f"The {kind} weights file {shown_path(path)} is missing. Restore it from the repository or retrain: {TRAIN_HINT[kind]}")
    try:
        with open(path, "rb") as f:
            n = int.from_bytes(f.read(8), "little")
            if not 2 <= n <= 1 << 24:
                raise WeightsError(broken)
            header = json.loads(f.read(n))
        return {k: tuple(int(d) for d in v["shape"]) for k, v in header.items() if k != "__metadata__"}
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError, OSError):
        raise WeightsError(broken) from None


def check_files(kind: str, meta: dict, meta_path: Path, weights_path: Path) -> None:
    """Config within limits, the weights' header fitting the config, the sha256 as recorded."""
    try:
        expected = {k: tuple(v.shape) for k, v in check_config(kind, meta["config"]).state_dict().items()}
    except (TypeError, ValueError) as exc:
        raise WeightsError(f"The {kind} config in {shown_path(meta_path)} does not describe a valid model: {exc}.") from None
    found = header_shapes(weights_path, kind)
    if found != expected:
        diff = sorted(set(found) ^ set(expected)) or [k for k in expected if found.get(k) != expected[k]]
        raise WeightsError(f"The {kind} weights in {shown_path(weights_path)} do not fit the model in its config "
                           f"(first difference: {diff[0]}). Were the files mixed up?")
    recorded = meta.get("sha256")
    if recorded is not None and file_sha256(weights_path) != recorded:
        raise WeightsError(f"The {kind} weights file {shown_path(weights_path)} is corrupt or truncated: its sha256 differs "
                           f"from the one recorded in {shown_path(meta_path)}. Restore it from the repository or retrain: "
                           f"{TRAIN_HINT[kind]}")


def read_weights(path: Path, kind: str) -> dict:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(f"The {kind} weights file {shown_path(path)} is corrupt or truncated ({type(exc).__name__}). "
                           f"Restore it from the repository or retrain: {TRAIN_HINT[kind]}") from None


def _signature(*paths: Path) -> tuple:
    """What identifies the files' current contents cheaply: (size, mtime) of each, None if absent."""
    out = []
    for p in paths:
        try:
            st = p.stat()
            out.append((st.st_size, st.st_mtime_ns))
        except OSError:
            out.append(None)
    return tuple(out)


_failed: dict[tuple, tuple[tuple, WeightsError]] = {}  # (kind, files) -> (their signature, the error)
_failed_lock = threading.Lock()


def load_pretrained(kind: str = "dit", device="cpu", assets_dir=None) -> Pretrained:
    """Load shipped weights (EMA weights for the DiT) into an eval-mode model on `device`.
    A failure is remembered (and raised again at once) until either file changes."""
    weights_path, meta_path, source = locate(kind, assets_dir)
    key, sig = (kind, str(weights_path), str(meta_path)), _signature(weights_path, meta_path)
    with _failed_lock:
        remembered = _failed.get(key)
    if remembered is not None and remembered[0] == sig:
        raise remembered[1]
    try:
        return _load(kind, device, weights_path, meta_path, source)
    except WeightsError as exc:
        with _failed_lock:
            _failed[key] = (sig, exc)
        raise


def _load(kind: str, device, weights_path: Path, meta_path: Path, source: str) -> Pretrained:
    meta = read_meta(meta_path, kind)
    check_files(kind, meta, meta_path, weights_path)
    model = build_model(kind, meta["config"])
    state = read_weights(weights_path, kind)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise WeightsError(f"The {kind} weights in {shown_path(weights_path)} do not fit the model in its config ({first}). Were the files mixed up?") from None
    for name, tensor in state.items():
        if not torch.isfinite(tensor).all():
            raise WeightsError(f"The {kind} weights in {shown_path(weights_path)} contain NaN or infinity (tensor {name}); retrain or restore them.")
    return Pretrained(model.to(device).eval(), meta, source)
