"""Overlays: each image with what was measured drawn on it, and a contact sheet of them per class.

On every image the detected leukocyte boxes, the cell (cytoplasm) and nucleus outlines and each cell's
number and lobe count are drawn; ``index.html`` shows the thumbnails grouped by class, each linked to its
full-size overlay, so a person sees in one page what the detector took for a leukocyte. The folder::

    index.html                the contact sheet (Jinja2 template ``overlays.html.j2``)
    images/<name>.png         full-size overlay of each image (the image's path in its data set)
    thumbs/<name>.png         its thumbnail (longer side :data:`THUMBNAIL_SIZE` pixels)

Every file is written atomically and inside the folder (:func:`wekawbc.paths.inside`). ``wekawbc
extract --overlays DIR`` draws them from the masks it writes; ``wekawbc run`` (``[output] overlays = N``)
segments the first N images of each class again.
"""

from __future__ import annotations

import os
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Iterable, Sequence
from urllib.parse import quote

import numpy as np

from wekawbc._io import WekawbcError, atomic_write_bytes, atomic_write_text, cannot_write
from wekawbc.paths import inside

__all__ = ["OverlayCell", "OverlayEntry", "ExtractOverlays", "LOBES_FEATURE", "THUMBNAIL_SIZE", "check_writable",
           "draw_overlay", "write_overlay", "write_gallery", "sample_overlays"]

#: The feature (:mod:`wekawbc.features.registry`) whose value is written beside each cell.
LOBES_FEATURE = "Nucleus_Lobes_Count"
THUMBNAIL_SIZE = 192
_BOX = (0, 200, 0)          # green: the detector's box
_CELL = (255, 215, 0)       # yellow: the cell's outline (cytoplasm's outer edge)
_NUCLEUS = (230, 0, 230)    # magenta: the nucleus outline
LEGEND = (("box", "detected leukocyte (box, with its number and lobe count)", _BOX),
          ("cell", "cell outline (the cytoplasm's outer edge)", _CELL),
          ("nucleus", "nucleus outline", _NUCLEUS))


@dataclass(frozen=True)
class OverlayCell:
    """One leukocyte to draw: its box ``(x0, y0, x1, y1)`` (x1, y1 exclusive), number and lobe count."""

    box: tuple[int, int, int, int]
    number: int = 0
    lobes: float | None = None

    @property
    def caption(self) -> str:
        lobes = "?" if self.lobes is None or not np.isfinite(self.lobes) else f"{self.lobes:g}"
        return f"#{self.number} lobes {lobes}"


@dataclass(frozen=True)
class OverlayEntry:
    """One image of the contact sheet: where its overlay is, its class, and what was found."""

    image: str
    name: PurePosixPath | None
    """The overlay's path under ``images/`` and ``thumbs/`` (None: no overlay, the image failed)."""
    label: str | None
    status: str = "ok"
    cells: tuple[OverlayCell, ...] = ()
    reason: str = ""

    @property
    def caption(self) -> str:
        if self.status == "failed":
            return f"failed: {self.reason}"
        if not self.cells:
            return "no leukocyte found"
        return "; ".join(cell.caption for cell in self.cells)


def check_writable(folder: str | os.PathLike) -> Path:
    """Create ``folder`` if needed and check a file can be written in it.

    Raises
    ------
    WekawbcError
        ``"<folder>: cannot write: <reason>"`` (a file in the way, no permission, a read-only disk).
    """
    path = Path(folder)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as error:
        raise cannot_write(path, error) from None
    return path


def draw_overlay(rgb: np.ndarray, labels: np.ndarray, cells: Sequence[OverlayCell], *, width: int | None = None,
                 captions: bool = True) -> np.ndarray:
    """``rgb`` with the outlines of ``labels`` (0 background, 128 cytoplasm, 255 nucleus: the masks'
    encoding, :func:`wekawbc.cells.segmentation.label_image`) and each cell's box and caption drawn on it.
    ``width``: line width in pixels (default: 2, more on large fields)."""
    import cv2
    from skimage.segmentation import find_boundaries

    out = np.ascontiguousarray(rgb.copy())
    width = width or max(2, round(max(rgb.shape[:2]) / 400))
    kernel = np.ones((width, width), np.uint8)
    for mask, colour in ((labels > 0, _CELL), (labels == 255, _NUCLEUS)):
        edge = find_boundaries(mask, mode="inner")
        if width > 1:
            edge = cv2.dilate(edge.astype(np.uint8), kernel).astype(bool)
        out[edge] = colour
    scale = max(0.5, max(rgb.shape[:2]) / 700)
    for cell in cells:
        x0, y0, x1, y1 = (int(v) for v in cell.box)
        cv2.rectangle(out, (x0, y0), (max(x0, x1 - 1), max(y0, y1 - 1)), _BOX, width)
        if not captions:
            continue
        (text_w, text_h), _ = cv2.getTextSize(cell.caption, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        x = min(max(x0, 0), max(out.shape[1] - text_w - 2, 0))
        y = y0 - 4 - width if y0 - text_h - 6 - width >= 0 else min(y0 + text_h + 4 + width, out.shape[0] - 2)
        for colour, weight in (((0, 0, 0), 4), ((255, 255, 255), 1)):
            cv2.putText(out, cell.caption, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, weight, cv2.LINE_AA)
    return out


def _png(rgb: np.ndarray) -> bytes:
    import cv2

    ok, encoded = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise WekawbcError("could not encode an overlay PNG")
    return encoded.tobytes()


def write_overlay(folder: str | os.PathLike, name: PurePosixPath, rgb: np.ndarray, labels: np.ndarray,
                  cells: Sequence[OverlayCell]) -> None:
    """Draw one image's overlay and write it and its thumbnail (atomically) under ``folder``."""
    import cv2

    atomic_write_bytes(inside(folder, Path("images", name)), _png(draw_overlay(rgb, labels, cells)))
    # The thumbnail is drawn on the reduced image, so its outlines stay sharp (captions go under it).
    factor = min(1.0, THUMBNAIL_SIZE / max(rgb.shape[:2]))
    size = (max(1, round(rgb.shape[1] * factor)), max(1, round(rgb.shape[0] * factor)))
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    small_labels = cv2.resize(labels, size, interpolation=cv2.INTER_NEAREST)
    small_cells = [OverlayCell(tuple(round(v * factor) for v in cell.box), cell.number, cell.lobes)  # type: ignore[arg-type]
                   for cell in cells]
    thumbnail = draw_overlay(small, small_labels, small_cells, width=2, captions=False)
    atomic_write_bytes(inside(folder, Path("thumbs", name)), _png(thumbnail))


@dataclass
class _ClassSection:
    label: str
    entries: list[OverlayEntry] = field(default_factory=list)

    @property
    def cells(self) -> int:
        return sum(len(entry.cells) for entry in self.entries)


def _link(kind: str, name: PurePosixPath | None) -> str:
    return "" if name is None else quote(f"{kind}/{name.as_posix()}")


def write_gallery(folder: str | os.PathLike, entries: Iterable[OverlayEntry], title: str, note: str = "") -> Path:
    """Write ``index.html``: the thumbnails grouped by class (in order of first appearance), each linked to
    its full overlay and captioned with the cells' numbers and lobe counts; failed images listed with why."""
    from wekawbc.report.render import render_html

    sections: dict[str, _ClassSection] = {}
    for entry in entries:
        label = entry.label if entry.label is not None else "(no label)"
        sections.setdefault(label, _ClassSection(label)).entries.append(entry)
    counts: dict[str, int] = defaultdict(int)
    for section in sections.values():
        for entry in section.entries:
            counts[entry.status] += 1
    classes = [{"label": s.label, "images": len(s.entries), "cells": s.cells,
                "entries": [{"image": e.image, "file": PurePosixPath(e.image).name, "status": e.status,
                             "caption": e.caption, "href": _link("images", e.name), "thumb": _link("thumbs", e.name)}
                            for e in s.entries]} for s in sections.values()]
    legend = [{"name": name, "text": text, "colour": "#%02x%02x%02x" % colour} for name, text, colour in LEGEND]
    page = render_html("overlays.html.j2", title=title, note=note, classes=classes, legend=legend,
                       counts=dict(counts))
    return atomic_write_text(inside(folder, "index.html"), page)


def _label_of(record, task: str) -> str | None:
    return record.task_label(task) if record.label is not None else None


class ExtractOverlays:
    """The overlays of ``wekawbc extract --overlays DIR``: drawn from the masks the extraction writes.

    Created before the extraction: it checks ``folder`` can be written (a failure is kept in
    :attr:`error`, so the extraction still runs and writes its results) and gives the folder the masks go
    to (:attr:`masks_dir`: ``masks_out`` when the user asked for masks, else a temporary folder inside
    ``folder``, removed by :meth:`close`).
    """

    def __init__(self, folder: str | os.PathLike, masks_out: str | os.PathLike | None = None) -> None:
        self.folder = Path(folder)
        self.error: WekawbcError | None = None
        self._temporary: tempfile.TemporaryDirectory | None = None
        try:
            check_writable(self.folder)
        except WekawbcError as error:
            self.error = error
        self.masks_dir: Path | None = Path(masks_out) if masks_out is not None else None
        if self.masks_dir is None and self.error is None:
            self._temporary = tempfile.TemporaryDirectory(prefix=".masks-", dir=self.folder)
            self.masks_dir = Path(self._temporary.name)

    def close(self) -> None:
        """Remove the temporary masks (if any)."""
        if self._temporary is not None:
            self._temporary.cleanup()
            self._temporary = None

    def write(self, dataset, result, task: str, progress: bool = True) -> Path:
        """Draw every image of ``dataset`` (a :class:`~wekawbc.cells.dataset.CellDataset`) from the masks and
        the cells of ``result`` (a :class:`~wekawbc.features.batch.BatchResult`); write the contact sheet.

        Raises
        ------
        WekawbcError
            The folder could not be written (checked at creation): the extraction results are written, the
            overlays are not.
        """
        import cv2

        from wekawbc._progress import progress_bar
        from wekawbc.cells.dataset import read_image
        from wekawbc.features.batch import mask_names

        if self.error is not None:
            raise WekawbcError(f"{self.error}; no overlays drawn (the extraction results are written)")
        assert self.masks_dir is not None
        records = list(dataset)
        outcomes = {outcome.image: outcome for outcome in result.outcomes}
        cells: dict[str, list[OverlayCell]] = defaultdict(list)
        table = result.table
        for image, number, x0, y0, x1, y1, lobes in zip(table["image"], table["cell"], table["x0"], table["y0"],
                                                          table["x1"], table["y1"], table[LOBES_FEATURE]):
            cells[str(image)].append(OverlayCell((int(x0), int(y0), int(x1), int(y1)), int(number), float(lobes)))
        entries = [OverlayEntry(problem.path, None, None, "failed", reason=problem.reason)
                   for problem in dataset.problems]
        names = mask_names(records, dataset.root)
        for record, name in progress_bar(list(zip(records, names)), enabled=progress, desc="overlays", unit="image"):
            image = str(record.image)
            outcome = outcomes.get(image)
            label = _label_of(record, task)
            labels = None
            if outcome is not None and outcome.status != "failed":
                labels = cv2.imread(str(self.masks_dir / name), cv2.IMREAD_GRAYSCALE)
            if labels is None or outcome is None:
                entries.append(OverlayEntry(image, None, label, "failed",
                                            reason=outcome.reason if outcome else "not extracted"))
                continue
            found = tuple(cells.get(image, ()))
            write_overlay(self.folder, PurePosixPath(name.as_posix()), read_image(record.image), labels, found)
            entries.append(OverlayEntry(image, PurePosixPath(name.as_posix()), label, outcome.status, found))
        return write_gallery(self.folder, entries, f"Overlays: {dataset.root or 'images'}",
                             f"What wekawbc extract measured on each image, grouped by class ({task} task).")


def sample_overlays(folder: str | os.PathLike, records: Sequence, per_class: int, options: dict, task: str,
                    title: str) -> Path:
    """Segment the first ``per_class`` records of each class again (``options``: keyword arguments of
    :func:`wekawbc.features.extract_features`) and write their overlays and contact sheet under ``folder``.
    The overlays of ``wekawbc run`` (``[output] overlays``)."""
    from wekawbc.cells.dataset import read_image
    from wekawbc.cells.segmentation import label_image
    from wekawbc.features import extract_features
    from wekawbc.features.batch import mask_names

    check_writable(folder)
    taken: dict[str | None, int] = defaultdict(int)
    chosen = []
    for record in records:
        label = _label_of(record, task)
        if taken[label] < per_class:
            taken[label] += 1
            chosen.append(record)
    entries = []
    for record, name in zip(chosen, mask_names(chosen, None)):
        image, label = str(record.image), _label_of(record, task)
        try:
            rgb = read_image(record.image)
            found = extract_features(rgb, **options)
        except (WekawbcError, ValueError) as error:
            entries.append(OverlayEntry(image, None, label, "failed", reason=str(error)))
            continue
        labels = np.zeros(rgb.shape[:2], np.uint8)
        for cell in found:
            labels = np.maximum(labels, label_image(cell.segmentation))
        drawn = tuple(OverlayCell(cell.box, cell.cell, cell.values.get(LOBES_FEATURE)) for cell in found)
        posix = PurePosixPath(name.as_posix())
        write_overlay(folder, posix, rgb, labels, drawn)
        entries.append(OverlayEntry(image, posix, label, "ok" if found else "no cell", drawn))
    return write_gallery(folder, entries, title, f"The first {per_class} images of each class, segmented as the "
                         "run's features were measured (the run's [features] settings).")
