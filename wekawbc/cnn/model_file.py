"""The CNN model file: one ``torch.save`` of a dict holding weights and everything needed to trust them.

Contents: format name and version, the network's weights and architecture, class names and task,
preprocessing (input size, crop, channel mean/std), training settings (seed included), training
history and stop reason, per-class training counts and library versions. Only tensors and plain
Python values are stored, so loading uses ``torch.load(weights_only=True)`` (no pickled code).
"""

from __future__ import annotations

import io
import os
from dataclasses import asdict
from pathlib import Path
from typing import Sequence

import torch

from wekawbc import __version__
from wekawbc._io import WekawbcError, atomic_write_bytes
from wekawbc.cnn.images import Preprocessing
from wekawbc.cnn.network import CellNet
from wekawbc.cnn.training import TrainedCnn, TrainSettings

__all__ = ["DEFAULT_MODEL", "MODEL_FORMAT", "default_model_path", "load_model", "save_model"]

MODEL_FORMAT = "wekawbc-cnn"
#: The model shipped in the package (made by ``python -m wekawbc.cnn.box_model``), relative to this module.
DEFAULT_MODEL = Path("models") / "wbc5_pbc_jtsc_bccd.pt"
_FORMAT_VERSION = 1


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
        The file is missing or not a wekawbc CNN model, was written by another wekawbc version,
        or its classes differ from ``labels``.
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
    model_labels = tuple(payload["labels"])
    if labels is not None and tuple(labels) != model_labels:
        raise WekawbcError(f"{path}: the model was trained on classes {list(model_labels)}, "
                           f"the data have classes {list(labels)}")
    settings = TrainSettings.from_dict(payload["settings"])
    pre = payload["preprocessing"]
    preprocessing = Preprocessing(int(pre["image_size"]), float(pre["crop_fraction"]),
                                  tuple(pre["mean"]), tuple(pre["std"]), str(pre.get("framing", "centre")),
                                  float(pre.get("cell_context", 1.6)), str(pre.get("stain", "none")))
    network = CellNet(len(model_labels), settings.channels, settings.dropout, settings.norm)
    try:
        network.load_state_dict(payload["state_dict"])
    except RuntimeError as error:
        raise WekawbcError(f"{path}: weights do not fit the recorded architecture ({error})") from None
    network.eval()
    model = TrainedCnn(network, model_labels, preprocessing, settings, list(payload.get("history", [])),
                       int(payload.get("best_epoch", 0)), str(payload.get("stop_reason", "")),
                       list(payload.get("train_counts", [])))
    return model, payload
