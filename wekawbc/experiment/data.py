"""The experiment's data: the chosen cells of a data set, their features (cached) and their crops.

Feature extraction is the slow stage, so its table is cached under a key made of the data
fingerprint (the SHA-256 of every image's bytes, in order, with its label) and the extraction
parameters and wekawbc version: a second run on the same cells reuses it, any change redoes it.
Cells whose features cannot be computed are reported and left out of every scheme alike, so the
Weka classifiers and the CNN are scored on the same instances and the same folds.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
from filelock import FileLock

from wekawbc import __version__
from wekawbc._io import WekawbcError, atomic_write, atomic_write_text
from wekawbc._progress import progress_bar
from wekawbc.paths import inside, slug
from wekawbc.cells.dataset import CellRecord, IndexFormat, class_values, load_dataset
from wekawbc.experiment.scaleout import in_flight_window

__all__ = ["CellSelection", "FeatureTable", "select_cells", "data_fingerprint", "extract_table", "load_cnn_crops",
           "read_feature_file"]

_BATCH = 16


@dataclass(frozen=True)
class CellSelection:
    """The labelled cells of one data set used by an experiment, in the data set's record order."""

    name: str
    records: tuple[CellRecord, ...]
    problems: tuple[str, ...] = ()
    """One line per index row or image left out (unlabelled, missing, unknown type) or kept incomplete."""

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(str(r.image) for r in self.records)

    def labels(self, task: str) -> tuple[str, ...]:
        return tuple(class_values(task))

    def codes(self, task: str) -> np.ndarray:
        values = list(class_values(task))
        return np.array([values.index(r.task_label(task)) for r in self.records], dtype=np.int64)


def select_cells(name: str, path: Path, class_counts: dict[str, float] | None, seed: int, *,
                 allow_outside: bool = False, index: IndexFormat | None = None) -> CellSelection:
    """Labelled records of the data set at ``path``, subsampled (seeded) to ``class_counts`` when given
    (``allow_outside``, ``index``: as :func:`wekawbc.cells.dataset.load_dataset`)."""
    from wekawbc.protocol.subsample import subsample_counts

    dataset = load_dataset(path, allow_outside=allow_outside, index=index)
    records = [r for r in dataset.records if r.label is not None]
    problems = [str(p) for p in dataset.problems]
    problems += [f"{r.image}: no label; left out" for r in dataset.records if r.label is None]
    if not records:
        raise WekawbcError(f"{path}: no labelled images; an experiment needs the class of every cell")
    if class_counts is not None:
        try:
            chosen = subsample_counts([r.label for r in records], class_counts, seed)
        except ValueError as error:
            raise WekawbcError(f"{path}: class_counts: {error}") from None
        records = [records[i] for i in chosen]
    return CellSelection(name, tuple(records), tuple(problems))


def data_fingerprint(selection: CellSelection) -> str:
    """SHA-256 over every chosen image's bytes and label, in order."""
    digest = hashlib.sha256()
    for record in selection.records:
        digest.update(hashlib.sha256(Path(record.image).read_bytes()).digest())
        digest.update(str(record.label).encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class FeatureTable:
    """Numeric features of the cells that could be measured (NaN = missing, Weka's ``?``)."""

    names: tuple[str, ...]
    values: np.ndarray
    """float, (n_cells, n_features)."""
    ids: tuple[str, ...]
    """Image path of each row, in the selection's order."""
    failures: tuple[str, ...] = ()
    """One line per image left out (path and reason)."""
    fingerprint: str = ""
    cache_file: Path | None = None
    from_cache: bool = False


def read_feature_file(name: str, path: Path) -> tuple[CellSelection, FeatureTable]:
    """A data set given as features, as Weka's Experimenter takes it: an ARFF or CSV file read by Weka's
    own loaders (a CSV's identifier columns left out, :func:`wekawbc.weka.load_instances`).

    The class (the last attribute) must hold the five leukocyte types, in any spelling
    :func:`~wekawbc.cells.dataset.normalise_label` knows, so the configuration's tasks apply; every
    other attribute must be numeric. Each row becomes a record ``<file>#<row>`` (from 1); rows
    without a class are left out and reported.
    """
    import warnings

    from wekawbc.cells.dataset import normalise_label
    from wekawbc.weka.data import load_instances

    with warnings.catch_warnings():  # the identifier columns of extract's CSV: leaving them out is the point
        warnings.simplefilter("ignore")
        data = load_instances(path).jobject
    attributes = [data.attribute(i) for i in range(data.numAttributes()) if i != data.classIndex()]
    nominal = [str(a.name()) for a in attributes if not a.isNumeric()]
    if nominal:
        raise WekawbcError(f"{path}: attribute(s) {nominal[:5]} are not numeric; an experiment's features are numbers")
    try:
        types = {str(v): normalise_label(str(v)) for v in data.classAttribute().enumerateValues()}
    except ValueError as error:
        raise WekawbcError(f"{path}: the class '{data.classAttribute().name()}' must hold the five leukocyte types "
                           f"(any spelling): {error}") from None
    codes = np.asarray(data.attributeToDoubleArray(data.classIndex()))
    values = np.column_stack([np.asarray(data.attributeToDoubleArray(a.index()), dtype=np.float64)
                              for a in attributes]) if attributes else np.empty((len(codes), 0))
    class_values = [str(v) for v in data.classAttribute().enumerateValues()]
    keep = ~np.isnan(codes)
    ids = tuple(f"{path.name}#{row + 1}" for row in np.flatnonzero(keep))
    records = tuple(CellRecord(image=Path(i), label=types[class_values[int(c)]]) for i, c in zip(ids, codes[keep]))
    problems = tuple(f"{path.name}#{row + 1}: no class; left out" for row in np.flatnonzero(~keep))
    if not records:
        raise WekawbcError(f"{path}: no row has a class")
    fingerprint = hashlib.sha256(path.read_bytes()).hexdigest()
    table = FeatureTable(tuple(str(a.name()) for a in attributes), values[keep], ids, (), fingerprint)
    return CellSelection(name, records, problems), table


def extraction_options(parameters: dict[str, Any]) -> dict[str, Any]:
    """``[features]`` of the configuration as keyword arguments of
    :func:`wekawbc.features.batch.extract_image` (the extraction ``wekawbc extract`` makes, with its
    defaults: ``mode = "auto"``; a field's largest, most central leukocyte, as ``--one-cell-per-image``)."""
    from wekawbc.cells.detection import DetectionParams
    from wekawbc.cells.segmentation import SegmentationParams

    unknown = sorted(set(parameters) - {"mode", "segmentation", "detection", "one_cell_per_image", "pixel_size",
                                         "stain"})
    if unknown:
        raise WekawbcError(f"[features]: unknown key(s) {unknown}; allowed: detection, mode, one_cell_per_image, "
                           "pixel_size, segmentation, stain")
    if parameters.get("one_cell_per_image", True) is not True:
        raise WekawbcError("[features] one_cell_per_image: an experiment scores one instance per labelled image "
                           "(true, the default); extract every cell with 'wekawbc extract' and use the estimator "
                           "with grouped folds instead")
    mode = parameters.get("mode", "auto")
    if mode not in ("auto", "crop", "field"):
        raise WekawbcError(f"'features.mode' must be 'auto', 'crop' or 'field', got {mode!r}")
    # One instance per image: the field's largest, most central leukocyte (wekawbc.cells.fields).
    options: dict[str, Any] = {"mode": mode, "one_per_image": True}
    if "pixel_size" in parameters:
        size = parameters["pixel_size"]
        if isinstance(size, bool) or not isinstance(size, (int, float)) or not size > 0:
            raise WekawbcError(f"[features]: pixel_size must be a positive number of µm, got {size!r}")
        options["pixel_size"] = float(size)
    if "stain" in parameters:
        if parameters["stain"] not in ("none", "white-balance", "reinhard"):
            raise WekawbcError(f"[features]: stain must be \"none\", \"white-balance\" or \"reinhard\", "
                               f"got {parameters['stain']!r}")
        options["stain"] = parameters["stain"]
    for key, kind in (("segmentation", SegmentationParams), ("detection", DetectionParams)):
        if key in parameters:
            try:
                options[key] = kind(**parameters[key])
            except TypeError as error:
                raise WekawbcError(f"[features.{key}]: {error}") from None
    return options


def _extract_batch(images: list[np.ndarray], records: list[CellRecord], parameters: dict[str, Any]
                   ) -> list[dict | str]:
    """Features of a batch of images (:func:`wekawbc.features.batch.extract_image`, one cell per image):
    one dict of feature values per image, or the line ``extract`` reports for an image without one."""
    from wekawbc.features.batch import extract_image
    from wekawbc.features.registry import feature_names

    options = extraction_options(parameters)
    out: list[dict | str] = []
    for image, record in zip(images, records):
        rows, outcome = extract_image(record, image, **options)
        out.append({name: rows[0][name] for name in feature_names()} if rows else outcome.message)
    return out


def _read_batch(records: Sequence[CellRecord]) -> list[np.ndarray | str]:
    from wekawbc.cells.dataset import read_image
    from wekawbc.features.batch import ImageOutcome

    images: list[np.ndarray | str] = []
    for record in records:
        try:
            images.append(read_image(record.image))
        except WekawbcError as error:
            images.append(ImageOutcome(str(record.image), "failed", 0, str(error)).message)
    return images


def extract_table(selection: CellSelection, parameters: dict[str, Any], cache_dir: Path, executor,
                  progress: bool = True) -> FeatureTable:
    """Features of every selected cell, from the cache when the same data and parameters were seen.

    Images are read here, a window of batches at a time, and sent to the executor as numpy arrays
    (a Dask worker needs no access to the files); only the batches in flight are held in memory.
    Each finished batch is written at once to ``<cache file>.parts/`` (its rows and its failures),
    so an interrupted extraction resumes at the first batch not written; once every batch is in,
    the parts become the cache file, in the selection's order, and the folder goes.
    """
    fingerprint = data_fingerprint(selection)
    # The options as extract_image receives them (defaults included): a changed default redoes the table.
    key_text = json.dumps({"data": fingerprint, "options": extraction_options(parameters), "wekawbc": __version__},
                          sort_keys=True, default=str)
    key = hashlib.sha256(key_text.encode()).hexdigest()[:20]
    cache_file = inside(cache_dir, f"features-{slug(selection.name)}-{key}.csv")
    failures_file = cache_file.with_suffix(".failures.txt")
    # One extraction per cache file at a time: two runs sharing a cache (the five-class and binary
    # grids on the same images, say) would otherwise join and remove each other's parts. The
    # second waits, then reads what the first wrote.
    cache_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(f"{cache_file}.lock"):
        return _cached_or_extracted(selection, parameters, executor, progress, cache_file, failures_file, fingerprint)


def _cached_or_extracted(selection: CellSelection, parameters: dict[str, Any], executor, progress: bool,
                         cache_file: Path, failures_file: Path, fingerprint: str) -> FeatureTable:
    """The cache file's table when it holds the selection, else the extraction (resumed from its parts)."""
    # The same images at another path (a moved or re-mounted data set) are extracted afresh.
    if cache_file.is_file():
        table = _read_table(cache_file, failures_file, fingerprint, True)
        if set(table.ids) <= set(selection.ids):
            return table
    records = list(selection.records)
    batches = [records[i:i + _BATCH] for i in range(0, len(records), _BATCH)]
    parts = cache_file.with_suffix(".parts")
    todo = [number for number in range(len(batches)) if not _part(parts, number).is_file()]
    def send(number: int) -> tuple[int, list[str], list[str], Any]:
        """Read a batch and submit its readable images: its number, their ids, its failures, the task."""
        images = _read_batch(batches[number])
        readable = [(im, r) for im, r in zip(images, batches[number]) if not isinstance(im, str)]
        handle = executor.submit(f"features-{selection.name}-{number}", _extract_batch,
                                 [im for im, _ in readable], [r for _, r in readable], parameters)
        return number, [str(r.image) for _, r in readable], [im for im in images if isinstance(im, str)], handle

    # The next batch is read and sent while the workers compute those in flight; each is written
    # as soon as it and those before it are in.
    window = max(1, 2 * int(getattr(executor, "window", 1)))
    with progress_bar(total=len(batches), initial=len(batches) - len(todo), desc="features", unit="batch",
                      enabled=progress, leave=False) as bar:
        for done, ids, failures, handle in in_flight_window(map(send, todo), window):
            _write_part(parts, done, ids, failures, executor.results([handle], "features", False)[0])
            bar.update()
    return _join_parts(selection.name, parts, len(batches), cache_file, failures_file, fingerprint)


def _part(parts: Path, number: int) -> Path:
    return parts / f"{number:06d}.csv"


def _write_part(parts: Path, number: int, ids: list[str], failures: list[str], results: list[dict | str]) -> None:
    """One batch's rows (``id`` and the features, as the cache file) and failures; the CSV last, as the mark."""
    rows = [result for result in results if not isinstance(result, str)]
    failures = failures + [result for result in results if isinstance(result, str)]
    kept = [image_id for image_id, result in zip(ids, results) if not isinstance(result, str)]
    atomic_write_text(_part(parts, number).with_suffix(".failures.txt"), "".join(f"{line}\n" for line in failures))
    # Every row holds the same features in the same order (_extract_batch): one float64 array, no per-column parsing.
    names = list(rows[0]) if rows else []
    values = np.array([[row[name] for name in names] for row in rows], dtype=np.float64).reshape(len(rows), len(names))
    frame = pd.DataFrame(values, columns=names)
    frame.insert(0, "id", kept)
    with atomic_write(_part(parts, number)) as handle:
        frame.to_csv(handle, index=False, float_format="%.17g", header=bool(rows))


def _join_parts(name: str, parts: Path, count: int, cache_file: Path, failures_file: Path,
                fingerprint: str) -> FeatureTable:
    """The cache file from the batches' parts, in order (streamed: one part in memory at a time)."""
    header: str | None = None
    failures: list[str] = []
    with atomic_write(cache_file) as handle:
        for number in range(count):
            failures += _part(parts, number).with_suffix(".failures.txt").read_text().splitlines()
            with open(_part(parts, number), encoding="utf-8", newline="") as part:
                first = part.readline()
                if not first:
                    continue
                if header is None:
                    header = first
                    handle.write(first)
                elif first != header:
                    raise WekawbcError(f"{_part(parts, number)}: its columns differ from the first batch's; "
                                       f"delete {parts} and run again")
                for line in part:
                    handle.write(line)
        if header is None:
            raise WekawbcError(f"{name}: features could be extracted from none of the images "
                               f"(first failure: {failures[0] if failures else '-'})")
    atomic_write_text(failures_file, "".join(f"{line}\n" for line in failures))
    shutil.rmtree(parts, ignore_errors=True)
    return _read_table(cache_file, failures_file, fingerprint, False)


def _read_table(cache_file: Path, failures_file: Path, fingerprint: str, from_cache: bool) -> FeatureTable:
    frame = pd.read_csv(cache_file, dtype={"id": str})
    failures = tuple(failures_file.read_text().splitlines()) if failures_file.is_file() else ()
    return FeatureTable(tuple(frame.columns[1:]), frame.iloc[:, 1:].to_numpy(dtype=np.float64),
                        tuple(frame["id"].astype(str)), failures, fingerprint, cache_file, from_cache)


def load_cnn_crops(ids: Sequence[str], input_options: dict) -> np.ndarray:
    """The CNN's input crops of the images ``ids`` (the feature table's rows), in that order.

    ``input_options``: the keyword arguments of :func:`wekawbc.cnn.images.prepare_input`
    (``TrainSettings.input_options()``).
    """
    from wekawbc.cells.dataset import read_image
    from wekawbc.cnn.images import prepare_input

    return np.stack([prepare_input(read_image(Path(i)), **input_options)[0] for i in ids])
