"""Extracting a whole data set: per-image outcome, feature table, masks; keeps going past bad images."""

from __future__ import annotations

import multiprocessing
import os
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Callable, Iterator

import cv2
import numpy as np
import pandas as pd

from wekawbc.arff.writer import frame_of_rows
from wekawbc._cores import usable_cores
from wekawbc._io import WekawbcError, atomic_write_bytes
from wekawbc.cells.dataset import CellDataset, CellRecord, Task, read_image
from wekawbc.cells.segmentation import label_image
from wekawbc.cells.stain import StainMethod
from wekawbc.features.extract import Mode, extract_features
from wekawbc.features.registry import FEATURES, feature_names, size_power
from wekawbc.cells.scale import Scale, dataset_scale

__all__ = ["ImageOutcome", "BatchResult", "extract_image", "extract_dataset", "iter_extract", "table_columns",
           "rescale_to_dataset", "BOX_COLUMNS",
           "IDENTIFIER_COLUMNS", "SCALE_COLUMNS"]

BOX_COLUMNS = ("x0", "y0", "x1", "y1")
#: Per cell: the µm per pixel its ``size`` features used, where it came from, and the note.
SCALE_COLUMNS = ("um_per_pixel", "scale_source", "scale_note")
#: Columns of the ``--csv`` table that say which cell a row is and how it was measured, not what it
#: looks like: a classifier reading that CSV leaves them out (``wekawbc weka``, ``wekawbc run``).
IDENTIFIER_COLUMNS = ("image", "cell", *BOX_COLUMNS, "confidence", *SCALE_COLUMNS)


@dataclass(frozen=True)
class ImageOutcome:
    """What happened to one image: ``status`` is ``ok``, ``no cell`` or ``failed`` (with ``reason``)."""

    image: str
    status: str
    cells: int = 0
    reason: str = ""

    @property
    def message(self) -> str:
        """How ``extract`` and ``run`` report an image that gave no cell: ``status: image: reason``."""
        named = self.reason if self.reason.startswith(self.image) else f"{self.image}: {self.reason}"
        return f"{self.status}: {named}"


@dataclass
class BatchResult:
    """The feature rows of every cell found and one outcome per image (and per bad index row)."""

    table: pd.DataFrame
    outcomes: list[ImageOutcome] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Images per status and cells in total."""
        counts = {"images": len(self.outcomes), "ok": 0, "no cell": 0, "failed": 0}
        for outcome in self.outcomes:
            counts[outcome.status] += 1
        counts["cells"] = len(self.table)
        return counts

    @property
    def any_failed(self) -> bool:
        """True when an image failed, held no leukocyte, or an index row was unusable."""
        return any(outcome.status != "ok" for outcome in self.outcomes)


def _one_thread() -> None:
    """Worker set-up: one OpenCV thread per process (cells are small; threads only contend)."""
    cv2.setNumThreads(1)


def mask_names(records: list[CellRecord], root: Path | None) -> list[Path]:
    """Where each record's mask goes under the masks folder: its path relative to the data set's folder.

    ``neutrophil/cell.bmp`` and ``lymphocyte/cell.bmp`` become ``neutrophil/cell.png`` and
    ``lymphocyte/cell.png``. An image outside the folder (read with ``allow_outside``) gets its file
    name, or, where two such names meet, its whole resolved path under ``outside/``. Never a path
    that leaves the masks folder.
    """
    def place(image: Path) -> tuple[Path, bool]:
        resolved = image.resolve()
        if root is not None and resolved.is_relative_to(root.resolve()):
            return resolved.relative_to(root.resolve()).with_suffix(".png"), True
        return Path(image.name).with_suffix(".png"), False

    placed = [place(record.image) for record in records]
    taken = Counter(name for name, _ in placed)
    return [name if inside or taken[name] == 1 else
            Path("outside", *record.image.resolve().parts[1:]).with_suffix(".png")
            for (name, inside), record in zip(placed, records)]


def _scale_columns(cell) -> dict:
    """The table's record of the scale a cell's ``size`` features used (CSV only, not an ARFF attribute)."""
    scale = cell.scale
    return dict(zip(SCALE_COLUMNS, (scale.um_per_pixel, scale.source, scale.note) if scale else (np.nan, "none", "")))


def extract_image(record: CellRecord, rgb: np.ndarray | None = None, *, task: Task = "five", mode: Mode = "auto",
                  one_per_image: bool = False, pixel_size: float | None = None, stain: StainMethod = "none",
                  mask_path: Path | None = None, **params: Any) -> tuple[list[dict], ImageOutcome]:
    """The feature rows of one image's cells and its outcome; never raises for bad input.

    The one extraction of ``wekawbc extract`` and ``wekawbc run``. ``rgb``: the image's pixels when the
    caller has read them already (a Dask worker without the files); otherwise ``record.image`` is read.
    ``params``: ``segmentation`` / ``detection`` parameters of :func:`extract_features`. Rows as
    :func:`extract_dataset`'s table.
    """
    # One OpenCV thread, in every process that extracts (cells are small; threads only contend), so
    # ``extract``, ``run`` and their workers compute in one way.
    cv2.setNumThreads(1)
    try:
        if rgb is None:
            rgb = read_image(record.image)
        cells = extract_features(rgb, mode=mode, one_per_image=one_per_image, pixel_size=pixel_size, stain=stain,
                                 **params)
        if mask_path is not None:
            labels = np.zeros(rgb.shape[:2], np.uint8)
            for cell in cells:
                labels = np.maximum(labels, label_image(cell.segmentation))
            ok, encoded = cv2.imencode(".png", labels)
            if not ok:
                raise WekawbcError(f"{record.image}: could not encode the mask PNG")
            atomic_write_bytes(mask_path, encoded.tobytes())
    except WekawbcError as error:
        return [], ImageOutcome(str(record.image), "failed", 0, str(error))
    except Exception as error:  # noqa: BLE001 - one image's failure is reported, never stops the batch
        return [], ImageOutcome(str(record.image), "failed", 0, f"{record.image}: {type(error).__name__}: {error}")
    label = record.task_label(task)
    rows = []
    for cell in cells:
        row = {"image": str(record.image), "cell": cell.cell, **dict(zip(BOX_COLUMNS, cell.box)),
               "confidence": cell.confidence}
        row.update(cell.values)
        row.update(_scale_columns(cell))
        row["class"] = label
        rows.append(row)
    if not cells:
        return rows, ImageOutcome(str(record.image), "no cell", 0, "no leukocyte found")
    return rows, ImageOutcome(str(record.image), "ok", len(cells))


def _process(item: tuple[CellRecord, Path | None], **options: Any) -> tuple[list[dict], ImageOutcome]:
    record, mask_path = item
    return extract_image(record, mask_path=mask_path, **options)


def worker_count(jobs: int) -> int:
    """Worker processes for ``jobs`` (``-1``: one per core this process may use); 0 and other negatives are refused."""
    if jobs == -1:
        return usable_cores()
    if jobs < 1:
        raise WekawbcError(f"--jobs must be 1 or more (or -1: one per CPU), got {jobs}")
    return int(jobs)


def iter_extract(dataset: CellDataset, *, task: Task = "five", mode: Mode = "auto", jobs: int = 1,
                 masks_out: str | os.PathLike | None = None, one_per_image: bool = False,
                 progress: Callable[[Iterator], Iterator] | None = None, pixel_size: float | None = None,
                 stain: StainMethod = "none") -> Iterator[tuple[list[dict], ImageOutcome]]:
    """Each image's feature rows and outcome as it is extracted, in index order (the index's problems first,
    as ``failed`` outcomes without rows); what :func:`extract_dataset` gathers, one image at a time.

    Parameters as :func:`extract_dataset`'s. Only the images being extracted are in memory, so a
    caller that writes each image's rows as they come (``wekawbc extract``) holds no table.
    """
    if masks_out is not None:
        Path(masks_out).mkdir(parents=True, exist_ok=True)
    work = partial(_process, task=task, mode=mode, one_per_image=one_per_image, pixel_size=pixel_size, stain=stain)
    records = list(dataset)
    targets = ([Path(masks_out) / name for name in mask_names(records, dataset.root)] if masks_out is not None
               else [None] * len(records))
    items = list(zip(records, targets))
    workers = worker_count(jobs)
    for problem in dataset.problems:
        yield [], ImageOutcome(problem.path, "failed", 0, problem.reason)
    if workers == 1:
        results: Iterator = map(work, items)
        yield from (progress(results) if progress else results)
        return
    # forkserver, not fork: a caller may hold a JVM or threads that a forked child would inherit
    # half-locked (a fork after jpype started the JVM deadlocks the workers).
    context = multiprocessing.get_context("forkserver")
    # The fork server imports and warms extraction once (wekawbc.features._warm); workers fork from it.
    # (It applies when this process starts its fork server: the first pool.)
    context.set_forkserver_preload(["__main__", "wekawbc.features._warm"])
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_one_thread) as pool:
        results = pool.map(work, items, chunksize=max(1, min(16, len(records) // (4 * workers) or 1)))
        yield from (progress(results) if progress else results)


def table_columns() -> list[str]:
    """The columns of the extraction's table (:func:`extract_dataset`), in order."""
    return [*IDENTIFIER_COLUMNS[:-len(SCALE_COLUMNS)], *feature_names(), *SCALE_COLUMNS, "class"]


def extract_dataset(dataset: CellDataset, *, task: Task = "five", mode: Mode = "auto", jobs: int = 1,
                    masks_out: str | os.PathLike | None = None, one_per_image: bool = False,
                    progress: Callable[[Iterator], Iterator] | None = None, pixel_size: float | None = None,
                    stain: StainMethod = "none") -> BatchResult:
    """Extract every image of ``dataset``.

    Parameters
    ----------
    dataset : CellDataset
        From :func:`wekawbc.cells.dataset.load_dataset`; its index problems become ``failed`` outcomes.
    task : {"five", "binary"}
        The class column's values.
    mode : {"auto", "crop", "field"}
        See :func:`wekawbc.features.extract_features`.
    jobs : int, default=1
        Worker processes (``-1``: one per CPU).
    one_per_image : bool, default=False
        Fields: the largest, most central leukocyte only (:func:`wekawbc.cells.fields.choose_cells`).
    masks_out : path, optional
        Folder for the 8-bit masks (0 background, 128 cytoplasm, 255 nucleus), one PNG per image,
        the image's size, at the image's path relative to the data set's folder (:func:`mask_names`).
    progress : callable, optional
        Wraps the iterator of finished images (e.g. ``functools.partial(tqdm, total=n)``).
    pixel_size : float, optional
        µm per pixel of every image; without it each image's scale is estimated (see
        :func:`wekawbc.features.extract_features`).
    stain : {"none", "white-balance", "reinhard"}
        Colour normalisation before segmentation (:func:`wekawbc.cells.stain.normalise_stain`).

    Returns
    -------
    BatchResult
        ``table`` columns (:func:`table_columns`): image, cell, x0, y0, x1, y1, confidence, every
        feature, um_per_pixel, scale_source, scale_note, class; outcomes in index order.
    """
    outcomes: list[ImageOutcome] = []
    rows: list[dict] = []
    for found, outcome in iter_extract(dataset, task=task, mode=mode, jobs=jobs, masks_out=masks_out,
                                       one_per_image=one_per_image, progress=progress, pixel_size=pixel_size,
                                       stain=stain):
        rows.extend(found)
        outcomes.append(outcome)
    return BatchResult(frame_of_rows(rows, table_columns()), outcomes)


def rescale_to_dataset(table: pd.DataFrame) -> tuple[pd.DataFrame, Scale]:
    """The table with every cell's ``size`` features at the data set's scale (:func:`dataset_scale`).

    Each row's sizes were computed at its own image's scale (``um_per_pixel``); they are multiplied
    by (data-set scale / image scale) to the feature's power, and the scale columns then record
    the data-set scale. Returns the new table and that scale.
    """
    table = table.copy()
    if table.empty:
        return table, Scale(float("nan"), "none", "no cell")
    scales = [Scale(float(u), s, "") for u, s in table.drop_duplicates("image")[["um_per_pixel", "scale_source"]]
              .itertuples(index=False)]
    common = dataset_scale(scales)
    if not common.known:
        return table, common
    ratio = common.um_per_pixel / table["um_per_pixel"].astype(float)
    for feature in FEATURES:
        power = size_power(feature)
        if power:
            table[feature.name] = table[feature.name] * ratio ** power
    table["um_per_pixel"], table["scale_source"], table["scale_note"] = common.um_per_pixel, common.source, common.note
    return table, common
