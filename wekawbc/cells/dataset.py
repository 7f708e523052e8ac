"""Cell-image data sets: the layouts users have, the five leukocyte types and reading images.

Three layouts are recognised by :func:`load_dataset`:

``labels.csv``
    A folder holding ``labels.csv`` (or any CSV index file given itself, such as ``index.csv``) with
    an ``image`` column and, optionally, ``label`` and ``mask`` columns; paths are relative to the
    index's folder (a bare file name is also looked up under ``images/`` and, for masks, ``masks/``).
    Other column names are given by an :class:`IndexFormat` (``--image-column``, ``--label-column``
    on the command line). Every other column is kept in ``CellRecord.extra``
    (for example ``nucleus_shape`` of ``pbc/`` or ``wbc_boxes_xyxy`` of ``bccd/``).
``class folders``
    A folder with one sub-folder per class (``neutrophil/``, ``Lymphocytes/``, ``NEU/`` ...),
    images inside.
``images``
    A plain folder of images, a single image, or a list of image paths: no labels, features only.

Labels are normalised to the five types of :data:`CLASSES` through :data:`SYNONYMS` (and a user's own
``--label-map``, :func:`parse_label_map`), class folder names alike; a label that
is not a known type is reported in :attr:`CellDataset.problems` and its row is left out, as is a
row whose image file is missing. The batch never stops on them.

Input path policy: an image or mask named by a data-set folder (a ``labels.csv`` entry, a file in a
class folder) must lie inside that folder once symlinks are resolved. An entry such as ``../x``, an
absolute path elsewhere, or a symlink pointing out of the folder is left out and reported (with the
symlink's target), unless the caller passes ``allow_outside=True`` (``--allow-outside`` on the
command line): the index itself cannot widen what is read. Paths given directly (an image, a list of
images) are the user's own choice and are read as given.
"""

from __future__ import annotations

import csv
import os
import re
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Literal, Mapping, Sequence

import numpy as np

from wekawbc._io import WekawbcError

__all__ = [
    "AGRANULOCYTES", "BINARY_CLASSES", "CLASSES", "GRANULOCYTES", "IMAGE_SUFFIXES", "MAX_FALLBACK_BYTES",
    "MAX_IMAGE_PIXELS", "SYNONYMS",
    "CellDataset", "CellRecord", "DatasetProblem", "IndexFormat", "Task",
    "binary_label", "class_values", "load_dataset", "normalise_label", "parse_label_map", "read_image", "task_label",
]

Task = Literal["five", "binary"]

#: The five leukocyte types, granulocytes first, in the order every output lists them.
CLASSES: tuple[str, ...] = ("neutrophil", "eosinophil", "basophil", "lymphocyte", "monocyte")
GRANULOCYTES: frozenset[str] = frozenset({"neutrophil", "eosinophil", "basophil"})
AGRANULOCYTES: frozenset[str] = frozenset({"lymphocyte", "monocyte"})
#: The binary grouping (the paper's discriminative split: lobed nucleus or not), in output order.
BINARY_CLASSES: tuple[str, ...] = ("granulocyte", "agranulocyte")

#: Other spellings seen in public data sets and analyser exports, mapped to the five types (keys are
#: lower case). Any unambiguous prefix of three letters or more of a type's name (``eosi``, ``lymp``,
#: ``neutro``) is recognised too, by :func:`normalise_label`.
SYNONYMS: Mapping[str, str] = {
    **{name: name for name in CLASSES},
    "netrophil": "neutrophil", "neutrophile": "neutrophil", "neu": "neutrophil", "neut": "neutrophil",
    "segmented neutrophil": "neutrophil", "band neutrophil": "neutrophil", "band": "neutrophil",
    "sng": "neutrophil", "bng": "neutrophil", "ne": "neutrophil", "seg": "neutrophil",
    "pmn": "neutrophil", "sne": "neutrophil", "bne": "neutrophil", "neutro": "neutrophil",
    "eosinophile": "eosinophil", "eos": "eosinophil", "eosi": "eosinophil", "eosino": "eosinophil", "eo": "eosinophil", "esinophil": "eosinophil",
    "basophile": "basophil", "bas": "basophil", "ba": "basophil", "baso": "basophil",
    "lymph": "lymphocyte", "lym": "lymphocyte", "ly": "lymphocyte", "lymphocite": "lymphocyte", "lyt": "lymphocyte",
    "lymp": "lymphocyte", "lympho": "lymphocyte", "lymphs": "lymphocyte",
    "mono": "monocyte", "mon": "monocyte", "mnc": "monocyte", "mo": "monocyte", "monocite": "monocyte",
}
_MIN_PREFIX = 3

#: Image file suffixes read by :func:`read_image` (lower case).
IMAGE_SUFFIXES: frozenset[str] = frozenset({".bmp", ".png", ".jpg", ".jpeg", ".tif", ".tiff"})

#: Most pixels :func:`read_image` decodes (a 7000 x 7000 field; single-cell crops are ~400 x 400).
#: Larger images, such as decompression bombs, are refused from their header, before decoding.
MAX_IMAGE_PIXELS = 50_000_000
#: Largest file handed to the OpenCV fallback decoder, which reads the whole file into memory.
MAX_FALLBACK_BYTES = 512 * 1024 * 1024

_OUTSIDE_HINT = "pass --allow-outside (allow_outside=True) to read it"


def normalise_label(raw: str | None) -> str | None:
    """The five-type name of ``raw`` (case, plurals, known misspellings and abbreviations folded).

    Returns None for an empty label (an unlabelled image) and raises ``ValueError`` for a
    label that names no known type.
    """
    if raw is None:
        return None
    text = re.sub(r"[\s_\-]+", " ", str(raw)).strip().lower()
    if not text or text in {"nan", "none", "?", "unknown"}:
        return None
    for spelling in (text, text.removesuffix("s")):  # plurals of every spelling: "netrophils", "monos"
        if spelling in SYNONYMS:
            return SYNONYMS[spelling]
    prefixed = {name for name in CLASSES if len(text) >= _MIN_PREFIX and name.startswith(text)}
    if len(prefixed) == 1:
        return prefixed.pop()
    raise ValueError(f"label {raw!r} is not one of {', '.join(CLASSES)} (nor a known spelling or abbreviation)")


def binary_label(label: str | None) -> str | None:
    """``granulocyte`` or ``agranulocyte`` for a five-type label (None stays None)."""
    if label is None:
        return None
    if label in GRANULOCYTES:
        return "granulocyte"
    if label in AGRANULOCYTES:
        return "agranulocyte"
    raise ValueError(f"label {label!r} is not one of {', '.join(CLASSES)}")


def task_label(label: str | None, task: Task = "five") -> str | None:
    """The class of a five-type ``label`` for ``task`` (``"five"`` or ``"binary"``)."""
    if task == "five":
        return label
    if task == "binary":
        return binary_label(label)
    raise ValueError(f"task must be 'five' or 'binary', got {task!r}")


def class_values(task: Task = "five") -> tuple[str, ...]:
    """All class values of ``task`` in their stable order (:data:`CLASSES` or :data:`BINARY_CLASSES`)."""
    if task == "five":
        return CLASSES
    if task == "binary":
        return BINARY_CLASSES
    raise ValueError(f"task must be 'five' or 'binary', got {task!r}")


def _label_key(raw: str) -> str:
    """A label as compared with a label map's keys: case, spaces, ``_`` and ``-`` folded."""
    return re.sub(r"[\s_\-]+", " ", str(raw)).strip().lower()


def parse_label_map(spec: str | os.PathLike | Mapping[str, str] | None) -> dict[str, str]:
    """A user's label map: each of their labels (or class folder names) to one of :data:`CLASSES`.

    ``spec`` is ``"a=b,c=d"``, a file of such pairs (one per line, ``a=b`` or ``a,b``, no header;
    ``#`` starts a comment), or a mapping. Targets may be any spelling :func:`normalise_label`
    knows; keys are compared without regard to case, spaces, ``_`` or ``-``.

    Raises
    ------
    WekawbcError
        ``--label-map: ...``, one line: a pair without ``=``, an empty side, or a target that names no
        type (the valid ones listed).
    """
    if spec is None:
        return {}
    if isinstance(spec, Mapping):
        pairs = [(str(k), str(v)) for k, v in spec.items()]
        where = "--label-map"
    else:
        text, where = str(spec), "--label-map"
        path = Path(spec)
        if "=" not in text or path.is_file():
            try:
                text = path.read_text(encoding="utf-8-sig")
            except (OSError, UnicodeDecodeError) as error:
                raise WekawbcError(f"--label-map: {spec}: neither a file one can read ({error}) nor pairs "
                                   "like eos=eosinophil,lymp=lymphocyte") from None
            where = f"--label-map {spec}"
            items = [line.split("#", 1)[0].strip() for line in text.splitlines()]
            items = [item.replace(",", "=", 1) if "=" not in item else item for item in items if item]
        else:
            items = [item.strip() for item in text.split(",") if item.strip()]
        pairs = []
        for item in items:
            source, sep, target = item.partition("=")
            if not sep or not source.strip() or not target.strip():
                raise WekawbcError(f"{where}: {item!r} is not a pair like eos=eosinophil")
            pairs.append((source.strip(), target.strip()))
    mapping = {}
    for source, target in pairs:
        try:
            name = normalise_label(target)
        except ValueError:
            name = None
        if name is None:
            raise WekawbcError(f"{where}: {source}={target}: '{target}' is not a class; valid classes: "
                               f"{', '.join(CLASSES)}")
        mapping[_label_key(source)] = name
    return mapping


@dataclass(frozen=True)
class IndexFormat:
    """How a user's data set names its columns and labels (the defaults read ``labels.csv`` as written).

    Attributes
    ----------
    image_column, label_column : str
        Columns of the index holding the image path and the label (``--image-column``,
        ``--label-column``).
    label_map : Mapping[str, str]
        The user's own labels (or class folder names) to :data:`CLASSES` (:func:`parse_label_map`);
        a label not in it goes through :func:`normalise_label`.
    """

    image_column: str = "image"
    label_column: str = "label"
    label_map: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_options(cls, image_column: str | None = None, label_column: str | None = None,
                     label_map: str | os.PathLike | Mapping[str, str] | None = None) -> "IndexFormat":
        """From the command line's (or a configuration's) values; None keeps a default."""
        return cls(image_column or "image", label_column or "label", parse_label_map(label_map))

    def label(self, raw: str | None) -> str | None:
        """The five-type name of ``raw`` (the label map first); ``ValueError`` for an unknown label."""
        if raw is not None and _label_key(raw) in self.label_map:
            return self.label_map[_label_key(raw)]
        return normalise_label(raw)


_DEFAULT_FORMAT = IndexFormat()


@dataclass(frozen=True)
class CellRecord:
    """One image of a data set.

    Attributes
    ----------
    image : Path
        The image file.
    label : str or None
        One of :data:`CLASSES`, or None when unlabelled.
    mask : Path or None
        The expert nucleus/cytoplasm mask, when the data set has one.
    extra : Mapping[str, str]
        Every other column of ``labels.csv`` (``nucleus_shape``, ``wbc_boxes_xyxy`` ...).
    """

    image: Path
    label: str | None = None
    mask: Path | None = None
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        """The image file name without its suffix (also the mask name written for it)."""
        return self.image.stem

    def task_label(self, task: Task = "five") -> str | None:
        """The class of this record for ``task``."""
        return task_label(self.label, task)


@dataclass(frozen=True)
class DatasetProblem:
    """A row or file left out of a data set, and why."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass
class CellDataset:
    """The images of a data set with their labels, and the problems met while reading its index.

    Iterating yields :class:`CellRecord` objects; ``len()`` counts them.
    """

    records: list[CellRecord]
    root: Path | None = None
    layout: str = "images"
    problems: list[DatasetProblem] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[CellRecord]:
        return iter(self.records)

    def __getitem__(self, index: int) -> CellRecord:
        return self.records[index]

    @property
    def is_labelled(self) -> bool:
        """True when at least one record has a label."""
        return any(record.label is not None for record in self.records)

    def labels(self, task: Task = "five") -> list[str | None]:
        """Each record's class for ``task`` (None where unlabelled)."""
        return [record.task_label(task) for record in self.records]

    def class_counts(self, task: Task = "five") -> dict[str, int]:
        """Number of records per class of ``task``, in the stable class order (zeros included)."""
        counts = Counter(label for label in self.labels(task) if label is not None)
        return {name: counts.get(name, 0) for name in class_values(task)}


def load_dataset(source: str | os.PathLike | Sequence[str | os.PathLike], *,
                 allow_outside: bool = False, index: IndexFormat | None = None) -> CellDataset:
    """Read a data set from a folder (``labels.csv`` or class sub-folders), an index CSV, an image, or a list of images.

    Parameters
    ----------
    source : path or sequence of paths
        A folder with ``labels.csv``; a CSV index file (``index.csv``: paths relative to its
        folder); a folder with one sub-folder per class; a folder of images; a single image file;
        or a list of image files.
    allow_outside : bool
        Read images and masks a folder's index names outside the folder (``../x``, absolute paths,
        symlinks pointing out); by default they are left out and reported in ``problems``.
    index : IndexFormat, optional
        The index's image and label column names and the user's label map (default: ``image``,
        ``label``, no map).

    Returns
    -------
    CellDataset
        The records in index order (sorted by path for folders) and the problems met.

    Raises
    ------
    WekawbcError
        When ``source`` does not exist, the index has no image column or cannot be parsed, or no
        image at all is found.
    """
    index = index or _DEFAULT_FORMAT
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise WekawbcError(f"{path}: no such file or folder")
        if path.is_file() and path.suffix.lower() == ".csv":
            dataset = _from_labels_csv(path, allow_outside, index)
        elif path.is_file():
            dataset = _from_paths([path], root=path.parent)
        elif (path / "labels.csv").is_file():
            dataset = _from_labels_csv(path / "labels.csv", allow_outside, index)
        elif _class_folders(path, index):
            dataset = _from_class_folders(path, allow_outside, index)
        else:
            dataset = _from_paths(_images_in(path), root=path, allow_outside=allow_outside)
    else:
        dataset = _from_paths([Path(item) for item in source], root=None)
    if not dataset.records:
        found = "; ".join(str(problem) for problem in dataset.problems[:3])
        raise WekawbcError(f"{source}: no readable image found" + (f" ({found})" if found else ""))
    return dataset


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _class_folders(folder: Path, index: IndexFormat = _DEFAULT_FORMAT) -> list[Path]:
    """Sub-folders whose name is a known type (or in the label map) and that hold images."""
    found = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        try:
            label = index.label(sub.name)
        except ValueError:
            continue
        if label is not None and _images_in(sub):
            found.append(sub)
    return found


def _outside_reason(root: Path, path: Path) -> str | None:
    """Why ``path`` (a file a data-set folder names) lies outside ``root``, or None when it is inside.

    Both are compared with symlinks resolved; a symlink that leads out is named with its target.
    """
    target = path.resolve()
    if target.is_relative_to(root.resolve()):
        return None
    link = next((p for p in (path, *path.parents) if p.is_symlink()), None)
    via = f"symlink to {target}" if link is not None else str(target)
    return f"{via} is outside the data folder {root}; {_OUTSIDE_HINT}"


def _from_paths(paths: Iterable[Path], root: Path | None, allow_outside: bool = True) -> CellDataset:
    records, problems = [], []
    for path in paths:
        if not path.is_file():
            problems.append(DatasetProblem(str(path), "image file not found"))
        elif not allow_outside and root is not None and (reason := _outside_reason(root, path)):
            problems.append(DatasetProblem(str(path), reason))
        else:
            records.append(CellRecord(image=path))
    return CellDataset(records=records, root=root, layout="images", problems=problems)


def _from_class_folders(folder: Path, allow_outside: bool, index: IndexFormat) -> CellDataset:
    records, problems = [], []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        try:
            label = index.label(sub.name)
        except ValueError as error:
            if _images_in(sub):
                problems.append(DatasetProblem(str(sub), f"sub-folder skipped: {error}"))
            continue
        for image in _images_in(sub):
            reason = None if allow_outside else _outside_reason(folder, image)
            if reason:
                problems.append(DatasetProblem(str(image), reason))
            else:
                records.append(CellRecord(image=image, label=label))
    return CellDataset(records=records, root=folder, layout="class folders", problems=problems)


def _resolve(folder: Path, relative: str, fallback: str) -> Path:
    """``folder/relative``, or ``folder/fallback/relative`` when only that exists."""
    direct = folder / relative
    if direct.is_file():
        return direct
    nested = folder / fallback / relative
    return nested if nested.is_file() else direct


def _from_labels_csv(index: Path, allow_outside: bool, columns: IndexFormat) -> CellDataset:
    folder = index.parent
    try:
        with open(index, newline="", encoding="utf-8-sig") as handle:
            table = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise WekawbcError(f"{index}: cannot read ({error})") from None
    header = table[0] if table else []
    duplicated = next((name for name in header if header.count(name) > 1), None)
    if duplicated is not None:
        raise WekawbcError(f"{index}: duplicate column '{duplicated}' in the header")
    rows = [(line, dict(zip(header, cells))) for line, cells in enumerate(table[1:], start=2) if cells]
    image_column, label_column = columns.image_column, columns.label_column
    if image_column not in header:
        hint = "" if image_column != "image" else " (name yours with --image-column)"
        raise WekawbcError(f"{index}: no '{image_column}' column{hint}; its columns are {header}")
    if label_column != "label" and label_column not in header:
        raise WekawbcError(f"{index}: no '{label_column}' column (--label-column); its columns are {header}")
    if not rows:
        raise WekawbcError(f"{index}: no rows under the header")
    records, problems = [], []
    first_row: dict[Path, int] = {}
    for line, row in rows:
        name = (row.get(image_column) or "").strip()
        where = f"{index}:{line}"
        if not name:
            problems.append(DatasetProblem(where, "empty image path"))
            continue
        image = _resolve(folder, name, "images")
        if not image.is_file():
            problems.append(DatasetProblem(f"{where} ({name})", "image file not found"))
            continue
        if not allow_outside and (reason := _outside_reason(folder, image)):
            problems.append(DatasetProblem(f"{where} ({name})", reason))
            continue
        if image.resolve() in first_row:
            problems.append(DatasetProblem(f"{where} ({name})", f"the same image as row {first_row[image.resolve()]}; "
                                                                "left out (one image, one instance)"))
            continue
        first_row[image.resolve()] = line
        try:
            label = columns.label(row.get(label_column))
        except ValueError as error:
            problems.append(DatasetProblem(f"{where} ({name})", str(error)))
            continue
        mask_name = (row.get("mask") or "").strip()
        mask = _resolve(folder, mask_name, "masks") if mask_name else None
        if mask is not None and not mask.is_file():
            problems.append(DatasetProblem(f"{where} ({mask_name})", "mask file not found; image kept without mask"))
            mask = None
        if mask is not None and not allow_outside and (reason := _outside_reason(folder, mask)):
            problems.append(DatasetProblem(f"{where} ({mask_name})", f"mask {reason}; image kept without mask"))
            mask = None
        extra = {key: (value or "") for key, value in row.items()
                 if key not in {image_column, label_column, "mask"} and key is not None}
        records.append(CellRecord(image=image, label=label, mask=mask, extra=extra))
    return CellDataset(records=records, root=folder, layout="labels.csv", problems=problems)


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image as RGB ``uint8`` of shape ``(rows, cols, 3)``.

    BMP, PNG, JPEG and TIFF are read with their real colours. Grey images are repeated on the
    three channels, 16-bit images scaled to 8 bits (``value // 257``), float images within 0-1
    scaled to 0-255, an alpha channel is composited on white (what a viewer shows) and palette
    images expanded.

    Every image read in wekawbc goes through here. An image of more than :data:`MAX_IMAGE_PIXELS`
    pixels is refused from its header, before it is decoded; a file Pillow does not recognise goes
    to OpenCV only when OpenCV knows its signature and it is at most :data:`MAX_FALLBACK_BYTES`.

    Raises
    ------
    WekawbcError
        Naming the file, when it is missing, empty, truncated, corrupt, too large or not an image.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise WekawbcError(f"{path}: image file not found")
    if path.stat().st_size == 0:
        raise WekawbcError(f"{path}: empty file, not an image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                _check_pixels(path, *image.size)
                array = _complete_rgb_jpeg(path, image)
                if array is None:
                    image.load()  # decodes everything: raises on truncated data
                    array = _pil_to_rgb8(image)
    except UnidentifiedImageError:
        array = _read_with_opencv(path)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise WekawbcError(f"{path}: image of more than the limit of {MAX_IMAGE_PIXELS:,} pixels "
                           f"(wekawbc.cells.dataset.MAX_IMAGE_PIXELS; Pillow: {error})") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise WekawbcError(f"{path}: corrupt or truncated image ({error})") from error
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise WekawbcError(f"{path}: image has no pixels")
    return array


def _complete_rgb_jpeg(path: Path, image) -> np.ndarray | None:
    """A complete colour JPEG decoded by OpenCV, or None to let Pillow decode the file.

    Pillow and OpenCV both decode JPEG with libjpeg-turbo's defaults (accurate integer DCT, smooth
    chroma upsampling), which give the same pixels (``tests/test_fast_kernels.py`` compares the two on
    the data sets' crops and on progressive, subsampled, odd-sized and rotated-tag files); OpenCV's
    ``imdecode`` hands them over without Pillow's copy through ``tobytes`` (about a third of the time), in RGB
    order straight from the decoder (no BGR copy to convert).
    Only files Pillow reads as RGB JPEG, that end with the end-of-image marker (a truncated file goes to
    Pillow, which refuses it) and that OpenCV decodes at the header's size; the EXIF orientation is
    ignored, as Pillow ignores it.
    """
    import cv2

    if image.format != "JPEG" or image.mode != "RGB":
        return None
    data = np.fromfile(path, np.uint8)
    if data.size < 4 or data[-2] != 0xFF or data[-1] != 0xD9:
        return None
    rgb = cv2.imdecode(data, cv2.IMREAD_COLOR_RGB | cv2.IMREAD_IGNORE_ORIENTATION)  # libjpeg-turbo writes RGB
    if rgb is None or rgb.shape != (image.size[1], image.size[0], 3):
        return None
    return rgb


def _check_pixels(path: Path, cols: int, rows: int) -> None:
    if cols * rows > MAX_IMAGE_PIXELS:
        raise WekawbcError(f"{path}: image of {cols} x {rows} pixels, more than the limit of {MAX_IMAGE_PIXELS:,} "
                           "pixels (wekawbc.cells.dataset.MAX_IMAGE_PIXELS)")


def _pil_to_rgb8(image) -> np.ndarray:
    mode = image.mode
    if mode in {"I;16", "I;16B", "I;16L", "I;16N", "I", "F"}:
        data = _float_levels(np.asarray(image)) if mode == "F" else np.asarray(image).astype(np.int64)
        # 32-bit and float grey are taken as 16-bit when any value exceeds the 8-bit range.
        grey = _to_uint8(data, bit16=mode.startswith("I;16") or data.max() > 255)
        return np.repeat(grey[..., None], 3, axis=2)
    if mode in {"RGBA", "LA", "PA"} or (mode == "P" and "transparency" in image.info):
        rgba = np.asarray(image.convert("RGBA"), dtype=np.float32)
        alpha = rgba[..., 3:4] / 255.0
        return np.round(rgba[..., :3] * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)
    return np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8))


def _float_levels(data: np.ndarray) -> np.ndarray:
    """Float pixels as whole levels: an image within 0-1 (the float convention) scaled to 0-255, any
    other range taken as levels already; NaN and infinities become 0."""
    data = np.nan_to_num(np.asarray(data, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    if data.size and data.min() >= 0 and data.max() <= 1:
        data = data * 255
    return np.round(data).astype(np.int64)


def _to_uint8(data: np.ndarray, bit16: bool) -> np.ndarray:
    if bit16:
        return (np.clip(data, 0, 65535) // 257).astype(np.uint8)
    return np.clip(data, 0, 255).astype(np.uint8)


def _read_with_opencv(path: Path) -> np.ndarray:
    """Fallback for files Pillow does not decode (e.g. 16-bit RGB TIFF)."""
    import cv2

    unknown = f"{path}: not a readable image (unknown format or corrupt data)"
    if not cv2.haveImageReader(str(path)):  # reads the signature only
        raise WekawbcError(unknown)
    size = path.stat().st_size
    if size > MAX_FALLBACK_BYTES:
        raise WekawbcError(f"{path}: {size:,} bytes, more than the {MAX_FALLBACK_BYTES:,} read for a format "
                           "Pillow does not decode")
    raw = np.fromfile(path, dtype=np.uint8)
    decoded = cv2.imdecode(raw, cv2.IMREAD_UNCHANGED) if raw.size else None
    if decoded is not None:
        _check_pixels(path, decoded.shape[1], decoded.shape[0])
    if decoded is None:
        raise WekawbcError(f"{path}: not a readable image (unknown format or corrupt data)")
    data = _float_levels(decoded) if decoded.dtype.kind == "f" else decoded.astype(np.int64)
    bit16 = decoded.dtype == np.uint16 or (decoded.dtype.kind == "f" and data.max() > 255)
    grey_or_colour = _to_uint8(data, bit16=bit16)
    if grey_or_colour.ndim == 2:
        return np.repeat(grey_or_colour[..., None], 3, axis=2)
    if grey_or_colour.shape[2] == 4:
        bgr = grey_or_colour[..., :3].astype(np.float32)
        alpha = grey_or_colour[..., 3:4].astype(np.float32) / 255.0
        grey_or_colour = np.round(bgr * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)
    return np.ascontiguousarray(grey_or_colour[..., 2::-1])
