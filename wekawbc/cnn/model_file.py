"""The CNN model file: one ``torch.save`` of a dict holding weights and everything needed to trust them.

Contents: format name and version, the network's weights and architecture, class names and task,
preprocessing (input size, crop, channel mean/std), training settings (seed included), training
history and stop reason, per-class training counts and library versions. Only tensors and plain
Python values are stored, so loading uses ``torch.load(weights_only=True)`` (no pickled code).
"""

from __future__ import annotations

import io
import math
import os
from dataclasses import asdict
from pathlib import Path
from typing import Sequence

import torch

from wekawbc import __version__
from wekawbc._io import WekawbcError, atomic_write_bytes
from wekawbc.cnn.images import Preprocessing
from wekawbc.cnn.network import CellNet
from wekawbc.cnn.settings import FRAMINGS, STAINS
from wekawbc.cnn.training import TrainedCnn, TrainSettings

__all__ = ["DEFAULT_MODEL", "MAX_IMAGE_SIZE", "MODEL_FORMAT", "default_model_path", "load_model", "save_model"]

MODEL_FORMAT = "wekawbc-cnn"
#: The model shipped in the package (made by ``python -m wekawbc.cnn.box_model``), relative to this module.
DEFAULT_MODEL = Path("models") / "wbc5_pbc_jtsc_bccd.pt"
_FORMAT_VERSION = 1
MAX_IMAGE_SIZE = 1024
"""Largest network input side a model file may ask for (crops are resized to it for every image)."""


def default_model_path() -> Path:
    """The shipped model's file (used by ``cnn predict`` when no model is given)."""
    path = Path(__file__).parent / DEFAULT_MODEL
    if not path.is_file():
        raise WekawbcError(f"{path}: the shipped model is missing from this installation; give a model file")
    return path


def save_model(model: TrainedCnn, path: str | os.PathLike, *, task: str = "five",
               extra: dict | None = None) -> Path:
    """Write ``model`` to ``path`` atomically (one file) and return the path.

    ``extra`` holds anything else worth recording (the command line, the data set, skipped images).
    """
    from wekawbc.provenance import library_versions

    payload = {
        "format": MODEL_FORMAT,
        "format_version": _FORMAT_VERSION,
        "wekawbc_version": __version__,
        "state_dict": model.network.state_dict(),
        "labels": list(model.labels),
        "task": task,
        "preprocessing": {**asdict(model.preprocessing), "mean": list(model.preprocessing.mean),
                          "std": list(model.preprocessing.std)},
        "settings": _plain(model.settings.to_dict()),
        "history": model.history,
        "best_epoch": model.best_epoch,
        "stop_reason": model.stop_reason,
        "train_counts": list(model.train_counts),
        "versions": library_versions(),
        "extra": _plain(extra or {}),
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return atomic_write_bytes(path, buffer.getvalue())


def _plain(value):
    """Tuples as lists, so the payload holds only types ``weights_only`` loading accepts."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


class _Damaged(ValueError):
    """A model payload that is not what :func:`save_model` writes (a crafted or damaged file)."""


def _finite_triple(pre: dict, key: str, positive: bool) -> tuple[float, float, float]:
    try:
        values = tuple(float(v) for v in pre[key])
    except (KeyError, TypeError, ValueError):
        raise _Damaged(f"preprocessing {key} missing or not numbers") from None
    if len(values) != 3 or not all(math.isfinite(v) and (v > 0 or not positive) for v in values):
        raise _Damaged(f"preprocessing {key} {list(values)} must be 3 finite numbers" + (" > 0" if positive else ""))
    return values  # type: ignore[return-value]


def _preprocessing(payload: dict, n_blocks: int) -> Preprocessing:
    pre = payload.get("preprocessing")
    if not isinstance(pre, dict):
        raise _Damaged("no preprocessing record")
    size, fraction = pre.get("image_size"), pre.get("crop_fraction")
    # Each block halves the input: it must keep at least one pixel, and stay a crop-sized image.
    if not isinstance(size, int) or isinstance(size, bool) or not 2 ** n_blocks <= size <= MAX_IMAGE_SIZE:
        raise _Damaged(f"preprocessing image_size {size!r} is not a whole number from {2 ** n_blocks} "
                       f"to {MAX_IMAGE_SIZE}")
    if not isinstance(fraction, (int, float)) or not 0 < fraction <= 1:
        raise _Damaged(f"preprocessing crop_fraction {fraction!r} is not in (0, 1]")
    framing, context, stain = pre.get("framing", "centre"), pre.get("cell_context", 1.6), pre.get("stain", "none")
    if framing not in FRAMINGS or stain not in STAINS:
        raise _Damaged(f"preprocessing framing {framing!r} or stain {stain!r} is not one of {FRAMINGS} / {STAINS}")
    if not isinstance(context, (int, float)) or isinstance(context, bool) or not 0 < context <= 10:
        raise _Damaged(f"preprocessing cell_context {context!r} is not a number in (0, 10]")
    return Preprocessing(size, float(fraction), _finite_triple(pre, "mean", False), _finite_triple(pre, "std", True),
                         str(framing), float(context), str(stain))


def _check_weights(state: object) -> None:
    if not isinstance(state, dict) or not all(isinstance(t, torch.Tensor) for t in state.values()):
        raise _Damaged("state_dict missing, or its weights are not tensors")
    for name, tensor in state.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise _Damaged(f"weights {name} are not finite (NaN or infinite)")
        if name.endswith("running_var") and bool((tensor < 0).any()):
            raise _Damaged(f"batch-norm variances {name} are negative")


def _model_from_payload(payload: dict) -> TrainedCnn:
    """The model a payload describes, every part checked (raises :class:`_Damaged`)."""
    labels = payload.get("labels")
    if not isinstance(labels, list) or not labels or not all(isinstance(x, str) for x in labels) \
            or len(set(labels)) != len(labels):
        raise _Damaged(f"labels {labels!r} are not a list of distinct class names")
    try:
        settings = TrainSettings.from_dict(payload["settings"])
        if not 1 <= len(settings.channels) <= 8 or not all(1 <= c <= 4096 for c in settings.channels):
            raise ValueError(f"channels {list(settings.channels)}: 1 to 8 blocks of 1 to 4096 channels")
        if not 0 <= settings.dropout < 1:  # NaN too
            raise ValueError(f"dropout {settings.dropout!r} is not in [0, 1)")
        network = CellNet(len(labels), settings.channels, settings.dropout, settings.norm)
    except (KeyError, TypeError, ValueError, RuntimeError, OverflowError) as error:  # epochs = inf: OverflowError
        raise _Damaged(f"training settings missing or invalid ({type(error).__name__}: {error})") from None
    preprocessing = _preprocessing(payload, len(settings.channels))
    state = payload.get("state_dict")
    _check_weights(state)
    try:
        network.load_state_dict(state)
    except RuntimeError as error:
        raise _Damaged(f"weights do not fit the recorded architecture ({' '.join(str(error).split())})") from None
    network.eval()
    try:
        return TrainedCnn(network, tuple(labels), preprocessing, settings, list(payload.get("history", [])),
                          int(payload.get("best_epoch", 0)), str(payload.get("stop_reason", "")),
                          list(payload.get("train_counts", [])))
    except (TypeError, ValueError, OverflowError) as error:  # best_epoch = inf: OverflowError
        raise _Damaged(f"training record invalid ({error})") from None


def load_model(path: str | os.PathLike, *, labels: Sequence[str] | None = None) -> tuple[TrainedCnn, dict]:
    """Read a model file written by :func:`save_model`, checking it before use.

    Parameters
    ----------
    path : path
        The model file.
    labels : sequence of str, optional
        The class values the caller's data use; a model trained on other classes is refused.

    Returns
    -------
    (TrainedCnn, dict)
        The model in evaluation mode, and the file's whole payload (versions, task, extra ...).

    Raises
    ------
    WekawbcError
        The file is missing or not a wekawbc CNN model, was written by another wekawbc version, is
        damaged or crafted (a key missing, non-finite weights or negative batch-norm variances, a
        channel std that is not > 0, an input size outside ``2**blocks..MAX_IMAGE_SIZE``), or its
        classes differ from ``labels``.
    """
    path = Path(path)
    if not path.is_file():
        raise WekawbcError(f"{path}: model file not found")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for a file that is not its own
        raise WekawbcError(f"{path}: not a wekawbc CNN model file ({type(error).__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != MODEL_FORMAT:
        raise WekawbcError(f"{path}: not a wekawbc CNN model file")
    if payload.get("format_version") != _FORMAT_VERSION or payload.get("wekawbc_version") != __version__:
        raise WekawbcError(
            f"{path}: written by wekawbc {payload.get('wekawbc_version')} (model format "
            f"{payload.get('format_version')}); this is wekawbc {__version__} (format {_FORMAT_VERSION}): "
            f"retrain the model with this version")
    try:
        model = _model_from_payload(payload)
    except _Damaged as error:
        raise WekawbcError(f"{path}: damaged model file: {error}") from None
    if labels is not None and tuple(labels) != model.labels:
        raise WekawbcError(f"{path}: the model was trained on classes {list(model.labels)}, "
                           f"the data have classes {list(labels)}")
    return model, payload
