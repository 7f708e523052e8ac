"""Training the CNN from scratch and predicting class distributions with it.

Training uses only the instances it is given: the inner validation split that drives early
stopping is drawn (stratified, seeded) from them, and augmentation and class-balanced sampling act
on them alone, so a test instance can never reach training (``on_batch`` lets a caller check that
by identifiers).

A run is deterministic given its seed and thread count: weights are initialised after
``torch.manual_seed(seed)``, every shuffle, sample and augmentation draws from one seeded
``torch.Generator``, and deterministic algorithms are requested while training.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from wekawbc._cores import usable_cores
from wekawbc._io import WekawbcError
from wekawbc.cnn.augment import augment_batch
from wekawbc.cnn.images import Preprocessing
from wekawbc.cnn.network import CellNet
from wekawbc.cnn.settings import TrainSettings

__all__ = ["TrainSettings", "TrainedCnn", "adapt_batch_norm", "inner_validation_split", "predict_proba", "train_cnn"]


@dataclass
class TrainedCnn:
    """A trained network with what is needed to use and describe it.

    Attributes
    ----------
    network : CellNet
        In evaluation mode.
    labels : tuple of str
        Class values, in the order of the network's outputs.
    preprocessing : Preprocessing
        Input size, crop and the training crops' channel mean/std.
    settings : TrainSettings
    history : list of dict
        Per epoch: ``epoch``, ``train_loss``, ``val_loss``, ``val_accuracy``, ``learning_rate``, ``seconds``.
    best_epoch : int
        The epoch whose weights were kept (1-based; the last one when there was no validation data).
    stop_reason : str
        Why training ended (epochs done, early stopping, a NaN loss).
    train_counts : list of int
        Training instances per class (validation part included).
    """

    network: CellNet
    labels: tuple[str, ...]
    preprocessing: Preprocessing
    settings: TrainSettings
    history: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    stop_reason: str = ""
    train_counts: list[int] = field(default_factory=list)


def inner_validation_split(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified, seeded split of ``range(len(y))`` into (train, validation) index arrays.

    Each class gives ``round(fraction * n_c)`` instances to validation but keeps at least one for
    training, so a class with a single instance is trained on.
    """
    rng = np.random.default_rng(seed)
    validation = []
    for c in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == c))
        n_val = min(int(round(fraction * members.size)), members.size - 1)
        validation.append(members[:n_val])
    val = np.sort(np.concatenate(validation)) if validation else np.empty(0, dtype=np.int64)
    train = np.setdiff1d(np.arange(y.size), val)
    return train, val


@contextlib.contextmanager
def _torch_run_state(threads: int | None) -> Iterator[None]:
    """Set threads (None: the cores this process may use) and deterministic algorithms for the run,
    restoring the caller's state after."""
    old_threads = torch.get_num_threads()
    old_deterministic = torch.are_deterministic_algorithms_enabled()
    old_warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.set_num_threads(int(threads) if threads is not None else usable_cores())
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.set_num_threads(old_threads)
        torch.use_deterministic_algorithms(old_deterministic, warn_only=old_warn_only)


def _to_chw(images: np.ndarray) -> torch.Tensor:
    if images.ndim != 4 or images.shape[3] != 3 or images.dtype != np.uint8:
        raise ValueError(f"images must be uint8 of shape (n, size, size, 3), got {images.dtype} {images.shape}")
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).contiguous()


_STATS_CHUNK = 1024
"""Images per step of :func:`_channel_stats` (their float64 copy: 8 bytes a value, 25 KB a 32-px crop)."""


def _channel_stats(images: torch.Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and standard deviation (unbiased, at least 1e-3) of uint8 images ``(n, 3, h, w)``
    scaled to [0, 1], in float64, :data:`_STATS_CHUNK` images at a time (the mean, then the squared
    deviations from it): memory stays flat in the images, where one float64 copy of them all took
    8 times their size (4 GB for 100,000 training crops of 48 px)."""
    count = images.shape[0] * images.shape[2] * images.shape[3]
    chunks = torch.split(images, _STATS_CHUNK)
    mean = sum(chunk.to(torch.float64).div_(255.0).sum(dim=(0, 2, 3)) for chunk in chunks) / count
    centre = mean.view(1, 3, 1, 1)
    squares = sum((chunk.to(torch.float64).div_(255.0).sub_(centre)).square_().sum(dim=(0, 2, 3)) for chunk in chunks)
    std = (squares / (count - 1)).sqrt().clamp_min(1e-3)
    return tuple(float(v) for v in mean), tuple(float(v) for v in std)


def _normaliser(preprocessing: Preprocessing) -> Callable[[torch.Tensor], torch.Tensor]:
    mean = torch.tensor(preprocessing.mean, dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(preprocessing.std, dtype=torch.float32).view(1, 3, 1, 1)
    return lambda batch: (batch - mean) / std


def _class_weights(y: np.ndarray, n_classes: int) -> torch.Tensor:
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    present = counts > 0
    weights = np.zeros(n_classes)
    weights[present] = y.size / (present.sum() * counts[present])
    return torch.tensor(weights, dtype=torch.float32)


def _epoch_order(y: np.ndarray, balance: str, generator: torch.Generator) -> torch.Tensor:
    """Positions of the training instances for one epoch: shuffled, or drawn class-balanced."""
    if balance == "sampler":
        counts = np.bincount(y)
        probability = torch.tensor(1.0 / counts[y], dtype=torch.float64)
        return torch.multinomial(probability, y.size, replacement=True, generator=generator)
    return torch.randperm(y.size, generator=generator)


def _cosine_rate(base: float, epoch: int, epochs: int) -> float:
    return base * 0.5 * (1.0 + math.cos(math.pi * epoch / epochs))


@torch.no_grad()
def _logits(network: CellNet, images: torch.Tensor, normalise, batch_size: int = 256) -> torch.Tensor:
    network.eval()
    out = [network(normalise(images[i:i + batch_size].float() / 255.0)) for i in range(0, len(images), batch_size)]
    return torch.cat(out) if out else torch.empty(0)


def train_cnn(images: np.ndarray, y: np.ndarray, labels: Sequence[str], settings: TrainSettings | None = None,
              *, ids: Sequence[str] | None = None, progress: bool = False,
              on_batch: Callable[[tuple[str, ...]], None] | None = None,
              start_from: TrainedCnn | None = None) -> TrainedCnn:
    """Train a :class:`CellNet` from scratch on ``images`` with classes ``y`` (or fine-tune one).

    Parameters
    ----------
    images : ndarray of uint8, shape (n, size, size, 3)
        Preprocessed crops (see :func:`~wekawbc.cnn.images.load_crops`).
    y : ndarray of int, shape (n,)
        Class index into ``labels`` of every image (no unknown classes).
    labels : sequence of str
        Class values; the network gets one output per value.
    settings : TrainSettings, optional
        Defaults to ``TrainSettings()``.
    ids : sequence of str, optional
        An identifier per image, passed to ``on_batch``.
    progress : bool
        tqdm bars for epochs and batches (on stderr).
    on_batch : callable, optional
        Called with the identifiers (or positions, as strings, without ``ids``) of the instances
        of every training batch, repeats included: the instrumentation for leakage checks.
    start_from : TrainedCnn, optional
        Fine-tune a copy of this model instead of starting from random weights: its architecture,
        classes and input standardisation (mean/std) are kept; ``settings`` give the rest.

    Returns
    -------
    TrainedCnn
        The weights of the epoch with the lowest validation loss.

    Raises
    ------
    WekawbcError
        Fewer than two classes in ``y``, or a NaN/infinite loss before any epoch finished.
    """
    from wekawbc._progress import progress_bar

    settings = settings or TrainSettings()
    labels = tuple(labels)
    y = np.asarray(y, dtype=np.int64)
    if y.size != len(images) or (y.size and (y.min() < 0 or y.max() >= len(labels))):
        raise ValueError(f"y must hold {len(images)} class indices in 0..{len(labels) - 1}")
    present = np.unique(y)
    if present.size < 2:
        only = labels[present[0]] if present.size else "none"
        raise WekawbcError(f"training data hold one class only ({only}); a classifier needs at least two")
    ids = tuple(str(i) for i in ids) if ids is not None else tuple(str(i) for i in range(y.size))
    tensor = _to_chw(images)

    with _torch_run_state(settings.threads):
        torch.manual_seed(settings.seed)
        generator = torch.Generator().manual_seed(settings.seed)
        fit_idx, val_idx = inner_validation_split(y, settings.validation_fraction, settings.seed)
        # The crops as two tensors, training and validation; the whole tensor goes, so at most one
        # copy of the crops (besides the caller's) is held while training.
        fit_images, val_images = tensor[fit_idx], tensor[val_idx]
        del tensor
        if start_from is None:
            mean, std = _channel_stats(fit_images)
            preprocessing = Preprocessing(settings.image_size, settings.crop_fraction, mean, std, settings.framing,
                                          settings.cell_context, settings.stain)
            network = CellNet(len(labels), settings.channels, settings.dropout, settings.norm)
        else:
            if tuple(start_from.labels) != labels:
                raise WekawbcError(f"the model's classes {list(start_from.labels)} differ from {list(labels)}")
            preprocessing, network = start_from.preprocessing, copy.deepcopy(start_from.network)
        normalise = _normaliser(preprocessing)
        optimiser = torch.optim.AdamW(network.parameters(), lr=settings.learning_rate,
                                      weight_decay=settings.weight_decay)
        weights = _class_weights(y[fit_idx], len(labels)) if settings.balance == "weights" else None
        fit_y, val_y = y[fit_idx], torch.from_numpy(y[val_idx])
        fit_ids = [ids[i] for i in fit_idx]

        result = TrainedCnn(network, labels, preprocessing, settings,
                            train_counts=np.bincount(y, minlength=len(labels)).tolist())
        best_loss, best_state, waited = math.inf, None, 0
        epochs = progress_bar(range(1, settings.epochs + 1), desc="epochs", unit="epoch", enabled=progress)
        for epoch in epochs:
            started = time.perf_counter()
            rate = _cosine_rate(settings.learning_rate, epoch - 1, settings.epochs)
            for group in optimiser.param_groups:
                group["lr"] = rate
            network.train()
            order = _epoch_order(fit_y, settings.balance, generator)
            batches = range(0, order.numel(), settings.batch_size)
            total, seen, failed = 0.0, 0, False
            for start in progress_bar(batches, desc=f"epoch {epoch}", unit="batch", leave=False, enabled=progress):
                positions = order[start:start + settings.batch_size]
                if positions.numel() < 2:  # BatchNorm needs two instances
                    continue
                if on_batch is not None:
                    on_batch(tuple(fit_ids[p] for p in positions.tolist()))
                batch = augment_batch(fit_images[positions].float() / 255.0, settings.augmentation, generator)
                targets = torch.from_numpy(fit_y[positions.numpy()])
                loss = F.cross_entropy(network(normalise(batch)), targets, weight=weights,
                                       label_smoothing=settings.label_smoothing)
                if not torch.isfinite(loss):
                    failed = True
                    break
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
                total += float(loss.detach()) * positions.numel()
                seen += positions.numel()
            if failed:
                kept = f"the best model so far (epoch {result.best_epoch}) is kept"
                result.stop_reason = f"loss became NaN/infinite in epoch {epoch}; training stopped, {kept}"
                if best_state is None:
                    raise WekawbcError(f"loss became NaN/infinite in epoch {epoch} before any epoch finished; "
                                       f"no model to keep (lower the learning rate, now {settings.learning_rate:g})")
                break
            record = {"epoch": epoch, "train_loss": total / max(seen, 1), "learning_rate": rate}
            if val_idx.size:
                logits = _logits(network, val_images, normalise)
                val_loss = float(F.cross_entropy(logits, val_y))
                record.update(val_loss=val_loss, val_accuracy=float((logits.argmax(1) == val_y).float().mean()))
            else:
                val_loss = -epoch  # no validation data: the last epoch is the best
            record["seconds"] = time.perf_counter() - started
            result.history.append(record)
            epochs.set_postfix(loss=f"{record['train_loss']:.3f}", val_loss=f"{record.get('val_loss', math.nan):.3f}")
            if val_loss < best_loss:
                best_loss, best_state, waited = val_loss, copy.deepcopy(network.state_dict()), 0
                result.best_epoch = epoch
            else:
                waited += 1
                if waited >= settings.patience:
                    result.stop_reason = (f"early stopping: no lower validation loss for {settings.patience} "
                                          f"epochs; epoch {result.best_epoch} kept")
                    break
        else:
            result.stop_reason = f"{settings.epochs} epochs done; epoch {result.best_epoch} kept"
        network.load_state_dict(best_state)
        network.eval()
    return result


def predict_proba(model: TrainedCnn, images: np.ndarray, *, batch_size: int = 256,
                  threads: int | None = None) -> np.ndarray:
    """Class distributions (softmax, float64, shape ``(n, n_classes)``) of preprocessed crops.

    Raises
    ------
    WekawbcError
        When the crops' size differs from the model's input size.
    """
    size = model.preprocessing.image_size
    if images.ndim != 4 or images.shape[1:] != (size, size, 3):
        raise WekawbcError(f"crops of shape {images.shape[1:]} given to a model that expects ({size}, {size}, 3)")
    with _torch_run_state(threads):
        logits = _logits(model.network, _to_chw(images), _normaliser(model.preprocessing), batch_size)
    return torch.softmax(logits.double(), dim=1).numpy() if len(images) else np.empty((0, len(model.labels)))


def adapt_batch_norm(model: TrainedCnn, images: np.ndarray, *, balanced_rounds: int = 0, seed: int = 1,
                     batch_size: int = 512, threads: int | None = None) -> TrainedCnn:
    """A copy of ``model`` whose batch-norm statistics are those of ``images`` (AdaBN).

    Every :class:`torch.nn.BatchNorm2d` forgets the training lab's running mean and variance and
    takes the exact mean and (unbiased) variance of its input over ``images``, the crops of the lab
    to be predicted (Li et al. 2016, "Revisiting batch normalization for practical domain
    adaptation"). Unsupervised: no label is used, only the images' own statistics, as per-lab
    standardisation does for the features. The learnt weights and the input standardisation are
    kept. Without batch norm (``norm`` other than ``batch``) the copy predicts as the model does.

    Parameters
    ----------
    model : TrainedCnn
    images : ndarray of uint8, shape (n, size, size, 3)
        The target lab's preprocessed crops (at least two).
    balanced_rounds : int
        With 1 or more: the statistics are then re-estimated that many times on a resample of
        ``images`` (as many, with replacement, seeded) drawn to equal *predicted* classes, each
        image weighted ``1 / (images predicted in its class)`` by the adapted model of the round
        before: the lab's statistics at an equal class mix, as the training lab's (balanced by the
        sampler), not at its own (a lab of mostly neutrophils otherwise moves every statistic
        towards neutrophils). Still no label is used.
    seed : int
        Seed of the resampling.
    batch_size : int
        Most images per forward pass. The images are cut into passes of (nearly) equal size and
        each layer's statistics averaged over them: the exact mean; the variance is the mean of the
        passes' variances (exact when all images fit in one pass).

    Raises
    ------
    WekawbcError
        Fewer than two images, or crops of another size than the model's input.
    """
    size = model.preprocessing.image_size
    if images.ndim != 4 or images.shape[1:] != (size, size, 3):
        raise WekawbcError(f"crops of shape {images.shape[1:]} given to a model that expects ({size}, {size}, 3)")
    if len(images) < 2:
        raise WekawbcError(f"batch-norm adaptation needs at least two images of the new lab, got {len(images)}")
    if balanced_rounds < 0:
        raise ValueError(f"balanced_rounds must be >= 0, got {balanced_rounds}")
    adapted = _batch_norm_statistics(model, images, batch_size, threads)
    generator = np.random.default_rng(seed)
    for _ in range(balanced_rounds):
        predicted = predict_proba(adapted, images, threads=threads).argmax(axis=1)
        weights = 1.0 / np.bincount(predicted)[predicted]
        resample = generator.choice(len(images), size=len(images), replace=True, p=weights / weights.sum())
        adapted = _batch_norm_statistics(model, images[resample], batch_size, threads)
    return adapted


def _batch_norm_statistics(model: TrainedCnn, images: np.ndarray, batch_size: int, threads: int | None) -> TrainedCnn:
    """A copy of ``model`` with every batch-norm layer's statistics measured on ``images``."""
    adapted = copy.deepcopy(model)
    network = adapted.network
    layers = [m for m in network.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    if not layers:
        return adapted
    for layer in layers:
        layer.reset_running_stats()
        layer.momentum = None  # cumulative average over the passes
    normalise = _normaliser(model.preprocessing)
    tensor = _to_chw(images)
    with _torch_run_state(threads), torch.no_grad():
        network.train()
        for chunk in torch.tensor_split(tensor, math.ceil(len(tensor) / batch_size)):
            network.features(normalise(chunk.float() / 255.0))
        network.eval()
    for layer in layers:
        layer.momentum = 0.1  # PyTorch's default again, should the copy ever be trained further
    return adapted
