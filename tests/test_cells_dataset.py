"""Data-set readers and image reading: layouts, label synonyms, bad rows and bad image files."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from wekawbc._io import WekawbcError
from wekawbc.cells.dataset import (
    BINARY_CLASSES, CLASSES, binary_label, class_values, load_dataset, normalise_label, read_image,
)


def _save(path, array, **kwargs):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, **kwargs)
    return path


@pytest.fixture
def rgb():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(20, 24, 3), dtype=np.uint8)


def test_class_order_and_binary_grouping():
    assert CLASSES == ("neutrophil", "eosinophil", "basophil", "lymphocyte", "monocyte")
    assert BINARY_CLASSES == ("granulocyte", "agranulocyte")
    assert [binary_label(c) for c in CLASSES] == ["granulocyte"] * 3 + ["agranulocyte"] * 2
    assert class_values("binary") == BINARY_CLASSES
    with pytest.raises(ValueError):
        class_values("three")


@pytest.mark.parametrize("raw, expected", [
    ("Neutrophil", "neutrophil"), ("NETROPHIL", "neutrophil"), ("lymphocytes", "lymphocyte"),
    (" Eosinophil ", "eosinophil"), ("MONO", "monocyte"), ("", None), (None, None),
    # abbreviations users name their folders and columns with
    ("eosi", "eosinophil"), ("lymp", "lymphocyte"), ("EOS", "eosinophil"), ("LYT", "lymphocyte"),
    ("neutro", "neutrophil"), ("Baso", "basophil"), ("monoc", "monocyte"),
])
def test_label_synonyms(raw, expected):
    assert normalise_label(raw) == expected


def test_unknown_label_raises():
    with pytest.raises(ValueError, match="platelet"):
        normalise_label("platelet")
    with pytest.raises(ValueError, match="lymphoma"):  # shares a beginning with a type, but is no prefix of it
        normalise_label("lymphoma")


def test_labels_csv_layout_reports_bad_rows(tmp_path, rgb):
    _save(tmp_path / "images" / "a.png", rgb)
    _save(tmp_path / "b.png", rgb)
    _save(tmp_path / "c.png", rgb)
    (tmp_path / "labels.csv").write_text(
        "image,label,nucleus_shape\n"
        "a.png,Netrophil,segmented-bilobed\n"   # found under images/, synonym folded
        "b.png,,\n"                              # unlabelled, kept
        "missing.png,monocyte,\n"                # missing file: reported
        "c.png,platelet,\n")                     # unknown type: reported
    dataset = load_dataset(tmp_path)
    assert dataset.layout == "labels.csv"
    assert [r.image.name for r in dataset] == ["a.png", "b.png"]
    assert dataset.labels() == ["neutrophil", None]
    assert dataset.labels("binary") == ["granulocyte", None]
    assert dataset[0].extra["nucleus_shape"] == "segmented-bilobed"
    reasons = [p.reason for p in dataset.problems]
    assert len(reasons) == 2 and "not found" in reasons[0] and "platelet" in reasons[1]


def test_class_folder_layout(tmp_path, rgb):
    _save(tmp_path / "Lymphocytes" / "x.jpg", rgb)
    _save(tmp_path / "NEUTROPHIL" / "y.bmp", rgb)
    _save(tmp_path / "platelet" / "z.png", rgb)
    dataset = load_dataset(tmp_path)
    assert dataset.layout == "class folders"
    assert sorted(dataset.labels()) == ["lymphocyte", "neutrophil"]
    assert any("platelet" in p.path for p in dataset.problems)
    assert dataset.class_counts()["monocyte"] == 0


def test_class_folders_named_by_abbreviation(tmp_path, rgb):
    for folder in ("eosi", "lymp", "mono", "baso", "neut"):
        _save(tmp_path / folder / "x.png", rgb)
    dataset = load_dataset(tmp_path)
    assert dataset.layout == "class folders" and not dataset.problems
    assert sorted(dataset.labels()) == sorted(CLASSES)


def test_plain_images_and_list(tmp_path, rgb):
    first = _save(tmp_path / "1.tif", rgb)
    _save(tmp_path / "2.png", rgb)
    (tmp_path / "notes.txt").write_text("x")
    assert [r.label for r in load_dataset(tmp_path)] == [None, None]
    listed = load_dataset([first, tmp_path / "gone.png"])
    assert len(listed) == 1 and listed.problems[0].reason == "image file not found"
    with pytest.raises(WekawbcError, match="no such"):
        load_dataset(tmp_path / "absent")


@pytest.mark.parametrize("suffix", [".bmp", ".png", ".jpg", ".tif"])
def test_read_image_formats(tmp_path, suffix):
    # Smooth, channel-distinct colours, so JPEG keeps them close and a swapped BGR order shows.
    rows, cols = np.mgrid[0:20, 0:24]
    smooth = np.dstack([200 + rows, 60 + 2 * cols, 30 + rows + cols]).astype(np.uint8)
    image = read_image(_save(tmp_path / f"cell{suffix}", smooth))
    assert image.dtype == np.uint8 and image.shape == (20, 24, 3)
    tolerance = 6 if suffix == ".jpg" else 0
    assert np.abs(image.astype(int) - smooth.astype(int)).mean() <= tolerance


def test_read_image_grey_16bit_and_rgba(tmp_path, rgb):
    grey = _save(tmp_path / "grey.png", rgb[..., 0])
    assert np.array_equal(read_image(grey), np.repeat(rgb[..., :1], 3, axis=2))
    deep = (rgb[..., 0].astype(np.uint16) * 257)
    path16 = tmp_path / "deep.png"
    Image.fromarray(deep).save(path16)
    assert np.array_equal(read_image(path16)[..., 1], rgb[..., 0])
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])
    rgba[0, 0, 3] = 0  # fully transparent pixel shows white
    image = read_image(_save(tmp_path / "alpha.png", rgba))
    assert image.shape[2] == 3 and tuple(image[0, 0]) == (255, 255, 255)
    assert np.array_equal(image[1:], rgb[1:])


def test_read_image_bad_files_name_the_file(tmp_path, rgb):
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(WekawbcError, match="empty.png: empty"):
        read_image(empty)
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"this is not an image at all")
    with pytest.raises(WekawbcError, match="junk.jpg"):
        read_image(junk)
    for image_format, name in (("PNG", "cut.png"), ("JPEG", "cut.jpg")):
        encoded = io.BytesIO()
        Image.fromarray(np.repeat(np.repeat(rgb, 10, 0), 10, 1)).save(encoded, format=image_format)
        truncated = tmp_path / name
        truncated.write_bytes(encoded.getvalue()[: len(encoded.getvalue()) // 2])
        with pytest.raises(WekawbcError, match=f"{name}: corrupt or truncated"):
            read_image(truncated)
    with pytest.raises(WekawbcError, match="not found"):
        read_image(tmp_path / "none.png")


def test_shared_datasets_layouts(datasets):
    jtsc = load_dataset(datasets / "jtsc")
    assert len(jtsc) == 300 and not jtsc.problems and all(r.mask is not None for r in jtsc)
    assert jtsc.class_counts()["neutrophil"] == 176
    bccd = load_dataset(datasets / "bccd")
    assert len(bccd) == 364 and bccd[0].mask.is_file() and bccd[0].extra["wbc_boxes_xyxy"]
    assert read_image(bccd[0].image).shape == (480, 640, 3)
