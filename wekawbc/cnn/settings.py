"""Training settings of the CNN, torch-free (the command line shows their defaults without importing torch)."""

from __future__ import annotations

import math
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Literal

__all__ = ["AUGMENTATIONS", "Augmentation", "BALANCES", "Balance", "FRAMINGS", "NORMS", "STAINS", "TrainSettings"]


@dataclass(frozen=True)
class Augmentation:
    """Ranges of the random transformations (0 switches one off)."""

    dihedral: bool = True  # exact quarter turns and mirroring (no interpolation)
    rotate: bool = False  # any angle, resampled bilinearly
    scale: float = 0.0  # zoom factor drawn from [1 - scale, 1 + scale]
    shift: float = 0.0  # shift drawn from [-shift, shift] of the image side
    brightness: float = 0.15
    contrast: float = 0.15
    saturation: float = 0.15
    channel_gain: float = 0.05
    hue: float = 0.0  # hue rotation drawn from [-hue, hue] of a full turn
    stain: float = 0.0  # haematoxylin/eosin/DAB optical densities scaled by [1 - stain, 1 + stain] each
    blur: float = 0.0  # Gaussian blur of sigma drawn from [0, blur] pixels
    stain_vectors: float = 0.0  # each stain's RGB absorbance vector moved by noise of this std (then unit length)


#: Named augmentation presets (``--augment``): ``basic`` (the default) is the in-lab set measured in
#: docs/cnn.md; ``cross-lab`` adds stain (HED) and hue jitter, blur and zoom. It helped on another
#: lab's cells but cost in-lab accuracy (docs/cross_lab.md), so the shipped model uses it and the
#: default does not. The same holds for the cell framing and ``reinhard-square`` stain.
AUGMENTATIONS: dict[str, Augmentation] = {
    "basic": Augmentation(),
    "cross-lab": Augmentation(hue=0.05, stain=0.2, blur=0.8, scale=0.1),
}

Balance = Literal["none", "weights", "sampler"]
BALANCES: tuple[str, ...] = ("none", "weights", "sampler")
#: How the network's input square is chosen (see :mod:`wekawbc.cnn.images`).
FRAMINGS: tuple[str, ...] = ("cell", "centre", "cell-masked")
#: Colour normalisations of the input: those of :func:`wekawbc.cells.stain.normalise_stain`, and
#: ``reinhard-square`` (Reinhard on every pixel of the framed square), ``reinhard-cell`` (fitted on the
#: segmented cell's pixels only) and ``nucleus-relative`` (optical density per channel relative to the
#: cell's own nucleus), ``rbc-relative`` (relative to the red cells around it); see :mod:`wekawbc.cnn.images`.
STAINS: tuple[str, ...] = ("none", "white-balance", "reinhard", "reinhard-square", "reinhard-cell", "nucleus-relative",
                           "rbc-relative")
#: Normalisation layers of the network (see :func:`wekawbc.cnn.network.norm_layer`; kept here torch-free).
NORMS: tuple[str, ...] = ("batch", "group", "instance", "layer")


@dataclass(frozen=True)
class TrainSettings:
    """Everything that decides a training run (recorded in the model file and every output).

    The defaults are the settings measured in ``docs/cnn.md`` on ``pbc/`` at the paper's class mix.

    Attributes
    ----------
    epochs : int
        Most epochs; early stopping usually ends sooner.
    image_size, crop_fraction, framing, cell_context, stain : int, float, str, float, str
        Network input (see :class:`~wekawbc.cnn.images.Preprocessing`).
    balance : {"none", "weights", "sampler"}
        Imbalance strategy: none; class-weighted loss (weights ``n / (K n_c)``); or a sampler
        drawing each class equally often (with replacement) in every epoch.
    batch_size, learning_rate, weight_decay, label_smoothing :
        AdamW on cross-entropy; the learning rate follows a cosine from ``learning_rate`` to 0.
    validation_fraction : float
        Share of each class of the training data held out (stratified, seeded) for early stopping.
    patience : int
        Epochs without a lower validation loss before training stops; the best epoch is kept.
    channels, dropout, norm :
        The network (see :class:`~wekawbc.cnn.network.CellNet`); ``norm`` is its normalisation
        layer (``batch``, ``group``, ``instance`` or ``layer``).
    seed : int
        Seed of initialisation, inner split, shuffling, sampling and augmentation.
    threads : int or None
        Torch CPU threads (None: the cores this process may use, :func:`wekawbc._cores.usable_cores`).
        Results repeat exactly for the same seed and
        thread count.
    augmentation : Augmentation
        Ranges of the random transformations.
    """

    epochs: int = 25
    image_size: int = 48
    crop_fraction: float = 0.7
    framing: str = "centre"
    cell_context: float = 1.6
    stain: str = "none"
    balance: Balance = "sampler"
    batch_size: int = 32
    learning_rate: float = 3e-3
    weight_decay: float = 5e-4
    label_smoothing: float = 0.05
    validation_fraction: float = 0.1
    patience: int = 8
    channels: tuple[int, ...] = (16, 32, 64, 128)
    dropout: float = 0.2
    norm: str = "batch"
    seed: int = 1
    threads: int | None = None
    augmentation: Augmentation = field(default_factory=Augmentation)

    def __post_init__(self) -> None:
        if self.balance not in BALANCES:
            raise ValueError(f"balance must be one of {BALANCES}, got {self.balance!r}")
        for name in ("epochs", "image_size", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        if not 0.0 <= self.validation_fraction < 1.0:
            raise ValueError(f"validation_fraction must be in [0, 1), got {self.validation_fraction!r}")
        if not 0.0 < self.crop_fraction <= 1.0:
            raise ValueError(f"crop_fraction must be in (0, 1], got {self.crop_fraction!r}")
        if self.framing not in FRAMINGS:
            raise ValueError(f"framing must be one of {FRAMINGS}, got {self.framing!r}")
        if not self.cell_context > 0.0:
            raise ValueError(f"cell_context must be > 0, got {self.cell_context!r}")
        if self.stain not in STAINS:
            raise ValueError(f"stain must be one of {STAINS}, got {self.stain!r}")
        if self.norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {self.norm!r}")
        if self.threads is not None and int(self.threads) < 1:
            raise ValueError(f"threads must be >= 1, got {self.threads!r}")
        object.__setattr__(self, "channels", tuple(int(c) for c in self.channels))

    def input_options(self) -> dict:
        """The keyword arguments of :func:`~wekawbc.cnn.images.load_crops` for this run's input."""
        return {"image_size": self.image_size, "crop_fraction": self.crop_fraction, "framing": self.framing,
                "cell_context": self.cell_context, "stain": self.stain}

    def to_dict(self) -> dict:
        """JSON-able form (the augmentation ranges nested)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "TrainSettings":
        """Settings from a plain dict (a configuration table, a model file), checked key by key.

        Raises
        ------
        ValueError
            An unknown key, a value of the wrong type (each key's type is its default's), or a
            value out of range; the message names the key.
        """
        if not isinstance(data, dict):
            raise ValueError(f"settings must be a table, got {data!r}")
        data = dict(data)
        _check_fields(cls, data, "")
        augmentation = data.get("augmentation", {})
        if not isinstance(augmentation, dict):
            raise ValueError(f"augmentation must be a table, got {augmentation!r}")
        _check_fields(Augmentation, augmentation, "augmentation.")
        data["augmentation"] = Augmentation(**augmentation)
        return cls(**data)


def _type_problem(value, default) -> str | None:
    """What is wrong with ``value`` for a field whose default is ``default`` (None when nothing is)."""
    integer = isinstance(value, int) and not isinstance(value, bool)
    if isinstance(default, bool):
        return None if isinstance(value, bool) else "must be true or false"
    if isinstance(default, int) or default is None:  # threads: an integer or None
        return None if integer or (default is None and value is None) else "must be an integer"
    if isinstance(default, float):
        number = integer or isinstance(value, float)
        return None if number and math.isfinite(value) else "must be a finite number"
    if isinstance(default, str):
        return None if isinstance(value, str) else "must be a string"
    if isinstance(default, tuple):
        ok = isinstance(value, (list, tuple)) and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        return None if ok else "must be a list of integers"
    return None


def _check_fields(kind: type, data: dict, prefix: str) -> None:
    known = {f.name: f for f in fields(kind)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ValueError(f"unknown key(s) {[prefix + k for k in unknown]}; allowed: {sorted(known)}")
    for name, value in data.items():
        declared = known[name]
        if declared.default_factory is not MISSING:  # augmentation: checked on its own
            continue
        problem = _type_problem(value, declared.default)
        if problem:
            raise ValueError(f"{prefix}{name} {problem}, got {value!r}")
