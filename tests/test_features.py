"""Feature registry and computation (analytic shapes, real cells) and the ``wekawbc extract`` command."""

from __future__ import annotations

import math
import re
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from wekawbc.cells.dataset import load_dataset, read_image
from wekawbc.cli import main
from wekawbc.features import FEATURES, compute_features, extract_features, feature_names, feature_table_markdown
from wekawbc.features.cli import EXIT_SOME_FAILED


def test_registry_names_are_unique_weka_safe_and_documented():
    names = feature_names()
    assert len(names) >= 60 and len(set(names)) == len(names)
    assert all(re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name) for name in names)
    assert all(feature.doc for feature in FEATURES)
    assert any("Lobes" in name for name in names)
    assert feature_table_markdown().count("\n") == len(names) + 2


def _disc(shape, centre, radius):
    rows, cols = np.ogrid[: shape[0], : shape[1]]
    return (rows - centre[0]) ** 2 + (cols - centre[1]) ** 2 <= radius ** 2


def test_features_of_a_disc_match_geometry_and_colour():
    image = np.full((100, 100, 3), 230, np.uint8)
    cell = _disc(image.shape[:2], (50, 50), 40)
    nucleus = _disc(image.shape[:2], (50, 50), 20)
    image[cell] = (200, 150, 170)
    image[nucleus] = (80, 40, 140)
    values = dict(zip(feature_names(), compute_features(image, nucleus, cell)))
    assert values["Nucleus_AreaShape_Area"] == nucleus.sum()
    assert values["Nucleus_AreaShape_Area"] == pytest.approx(math.pi * 20 ** 2, rel=0.02)
    assert values["Nucleus_AreaShape_Perimeter"] == pytest.approx(2 * math.pi * 20, rel=0.05)
    assert values["Nucleus_AreaShape_FormFactor"] == pytest.approx(1.0, abs=0.1)
    assert values["Cell_AreaShape_Eccentricity"] < 0.1
    assert values["Cell_AreaShape_MaxFeretDiameter"] == pytest.approx(81, abs=1.5)
    assert values["Cell_AreaShape_MinFeretDiameter"] == pytest.approx(81, abs=1.5)
    assert values["Cell_AreaShape_Solidity"] > 0.97
    assert values["Cell_NucleusAreaRatio"] == pytest.approx(0.25, abs=0.01)
    assert values["Nucleus_Intensity_Mean_R"] == 80 and values["Cytoplasm_Intensity_Median_G"] == 150
    assert values["Nucleus_Intensity_Std_B"] == 0
    assert values["NucleusCytoplasm_MeanRatio_R"] == pytest.approx(80 / 200)
    assert values["Nucleus_Lobes_Count"] == 1 and values["Nucleus_Parts_Count"] == 1
    assert values["Nucleus_Texture_Contrast"] == 0  # a flat nucleus has no texture
    assert sum(values[f"Nucleus_Texture_LBP_{code:02d}"] for code in range(10)) == pytest.approx(1.0)


def test_empty_cytoplasm_gives_missing_not_errors():
    image = np.full((40, 40, 3), 100, np.uint8)
    cell = _disc(image.shape[:2], (20, 20), 10)
    values = dict(zip(feature_names(), compute_features(image, cell, cell)))
    assert math.isnan(values["Cytoplasm_Intensity_Mean_R"]) and math.isnan(values["NucleusCytoplasm_MeanRatio_R"])
    assert values["Cytoplasm_AreaShape_Area"] == 0 and values["Cell_NucleusAreaRatio"] == 1


def test_real_cells_have_finite_or_missing_features_and_lobes_separate_types(datasets):
    pbc = load_dataset(datasets / "pbc")
    # WBCAtt's nucleus_shape: segmented neutrophils should mostly show >= 2 lobes, lymphocytes 1.
    segmented = [r for r in pbc if r.label == "neutrophil" and r.extra["nucleus_shape"].startswith("segmented")]
    lymphocytes = [r for r in pbc if r.label == "lymphocyte"]
    several = {"neutrophil": [], "lymphocyte": []}
    for record in segmented[1::30] + lymphocytes[1::140]:
        cells = extract_features(read_image(record.image))
        assert len(cells) == 1
        values = np.array(list(cells[0].values.values()))
        assert not np.isinf(values).any() and np.isfinite(values).mean() > 0.95
        several[record.label].append(cells[0].values["Nucleus_Lobes_Count"] >= 2)
    assert np.mean(several["neutrophil"]) >= 0.5
    assert np.mean(several["lymphocyte"]) <= 0.2


@pytest.fixture
def messy_dataset(tmp_path, datasets):
    """Three real crops plus the bad inputs a user meets: corrupt, blank, missing, unknown label, 16-bit grey."""
    folder = tmp_path / "set"
    folder.mkdir()
    jtsc = datasets / "jtsc" / "images"
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    cv2.imwrite(str(folder / "blank.png"), np.full((100, 100, 3), 235, np.uint8))
    grey16 = (read_image(jtsc / "005.bmp")[..., 1].astype(np.uint16) * 257)
    cv2.imwrite(str(folder / "grey16.png"), grey16)
    rows = [(jtsc / "001.bmp", "lymphocyte"), (jtsc / "002.bmp", "Netrophil"), (jtsc / "003.bmp", "monocyte"),
            ("corrupt.png", "neutrophil"), ("blank.png", "neutrophil"), ("missing.bmp", "monocyte"),
            (jtsc / "004.bmp", "platelet"), ("grey16.png", "neutrophil")]
    pd.DataFrame(rows, columns=["image", "label"]).to_csv(folder / "labels.csv", index=False)
    return folder


def test_extract_command_keeps_going_and_weka_loads_the_arff(messy_dataset, tmp_path, jvm, capsys):
    from weka.core.converters import Loader

    arff, csv, masks = tmp_path / "out.arff", tmp_path / "out.csv", tmp_path / "masks"
    code = main(["extract", str(messy_dataset), "-o", str(arff), "--csv", str(csv), "--masks-out", str(masks),
                 "--task", "binary", "--jobs", "2"])
    assert code == EXIT_SOME_FAILED
    log = pd.read_csv(tmp_path / "out.log.csv").fillna("")
    status = dict(zip(log["image"].map(lambda p: p.rsplit("/", 1)[-1].split(" ")[0]), log["status"]))
    assert status["corrupt.png"] == "failed" and status["blank.png"] == "no cell"
    assert sum("not found" in reason for reason in log["reason"]) == 1
    assert sum("platelet" in reason for reason in log["reason"]) == 1
    assert status["001.bmp"] == status["002.bmp"] == status["003.bmp"] == "ok"
    assert "3 failed" in capsys.readouterr().out
    data = Loader(classname="weka.core.converters.ArffLoader").load_file(str(arff))
    data.class_is_last()
    assert data.num_attributes == len(feature_names()) + 1
    assert [data.class_attribute.value(i) for i in range(2)] == ["granulocyte", "agranulocyte"]
    table = pd.read_csv(csv)
    assert len(table) == data.num_instances >= 4
    assert list(table.columns[:6]) == ["image", "cell", "x0", "y0", "x1", "y1"]
    assert table.loc[table["image"].str.endswith("002.bmp"), "class"].tolist() == ["granulocyte"]
    mask = cv2.imread(str(masks / "001.png"), cv2.IMREAD_UNCHANGED)
    assert mask.dtype == np.uint8 and mask.shape == (120, 120) and set(np.unique(mask)) <= {0, 128, 255}
    assert (mask == 255).sum() > 500 and (mask == 128).sum() > 300


def test_interrupted_extract_leaves_no_arff(messy_dataset, tmp_path, monkeypatch):
    import wekawbc.features.batch as batch

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(batch, "extract_features", interrupted)
    arff = tmp_path / "out.arff"
    assert main(["extract", str(messy_dataset), "-o", str(arff)]) == 130
    assert not arff.exists() and not list(tmp_path.glob(".out.arff*"))


def _sample_labels_csv(source: Path, folder: Path, step: int) -> Path:
    """A labels.csv in ``folder`` naming every ``step``-th image of a shared data set by absolute path."""
    dataset = load_dataset(source)
    rows = [{"image": str(r.image), "label": r.label or ""} for r in list(dataset)[::step]]
    folder.mkdir()
    pd.DataFrame(rows).to_csv(folder / "labels.csv", index=False)
    return folder


@pytest.mark.parametrize("name, step", [("jtsc", 25), ("bccd", 30), ("pbc", 250)])
def test_each_shared_dataset_gives_an_arff_weka_loads_and_j48_runs(name, step, datasets, tmp_path, jvm):
    from weka.classifiers import Classifier, Evaluation
    from weka.core.classes import Random
    from weka.core.converters import Loader

    folder = _sample_labels_csv(datasets / name, tmp_path / name, step)
    arff = tmp_path / f"{name}.arff"
    assert main(["extract", str(folder), "-o", str(arff)]) in (0, EXIT_SOME_FAILED)
    data = Loader(classname="weka.core.converters.ArffLoader").load_file(str(arff))
    data.class_is_last()
    assert data.num_instances >= 10 and data.num_attributes == len(feature_names()) + 1
    evaluation = Evaluation(data)
    evaluation.crossvalidate_model(Classifier(classname="weka.classifiers.trees.J48"), data, 3, Random(1))
    labelled = data.num_instances - data.attribute_stats(data.class_index).missing_count
    assert evaluation.num_instances == labelled > 0  # every labelled cell was classified once


def test_docs_list_the_registry():
    docs = Path(__file__).resolve().parent.parent / "docs" / "cells.md"
    assert feature_table_markdown() in docs.read_text(encoding="utf-8")


# --- features meant to transfer between labs: µm sizes and colour relative to the plasma --------

def _transfer_values(rgb):
    cells = extract_features(rgb, mode="crop")
    assert len(cells) == 1
    return cells[0]


def _od_shift(rgb, strength):
    """The same smear stained ``strength`` times as strongly (optical density scaled, plasma unchanged)."""
    plasma = np.array([240.0, 235.0, 230.0])
    density = -np.log10(np.maximum(rgb.astype(float), 1.0) / plasma)
    return np.clip(plasma * 10 ** (-strength * density), 0, 255).astype(np.uint8)


def test_size_features_in_um_do_not_change_when_the_image_is_rescaled(datasets):
    names = [f.name for f in FEATURES if f.group == "size"]
    deviations = []
    for record in list(load_dataset(datasets / "pbc"))[::700]:
        rgb = read_image(record.image)
        base = _transfer_values(rgb)
        assert base.scale.source == "red cells"
        for factor in (0.7, 1.4):
            image = cv2.resize(rgb, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR)
            cell = _transfer_values(image)
            assert cell.values["Cell_AreaShape_Area"] == pytest.approx(base.values["Cell_AreaShape_Area"] * factor ** 2,
                                                                        rel=0.1)  # pixels follow the factor ...
            # ... µm do not: the cell's diameter within 6 % on every image,
            assert cell.values["Cell_Size_Diameter_um"] == pytest.approx(base.values["Cell_Size_Diameter_um"], rel=0.06)
            deviations.append([abs(cell.values[n] / base.values[n] - 1) for n in names])
    # ... and every size feature within 3 % on the median image (a nucleus re-thresholded at another
    # resolution can gain or lose a thin bridge: single cells move more).
    assert np.median(deviations, axis=0).max() < 0.03


def test_relative_colour_features_ignore_the_lamp_and_the_stain_strength(datasets):
    fractions = [f.name for f in FEATURES if f.group == "density" and f.measure == "Fraction"]
    densities = [f.name for f in FEATURES if f.group == "density" and f.measure == "Mean"]
    lamp, stain = [], []
    for record in list(load_dataset(datasets / "pbc"))[::700]:
        rgb = read_image(record.image)
        base = _transfer_values(rgb).values
        shifted = _transfer_values(np.clip(rgb * np.array([0.85, 1.0, 1.12]), 0, 255).astype(np.uint8)).values
        stronger = _transfer_values(_od_shift(rgb, 1.2)).values
        lamp.append([abs(shifted[n] / base[n] - 1) for n in fractions + densities])
        stain.append([abs(stronger[n] / base[n] - 1) for n in fractions if n.startswith("Nucleus")])
        # The absolute colour moves by far more than these tolerances:
        assert abs(shifted["Nucleus_Intensity_Mean_B"] / base["Nucleus_Intensity_Mean_B"] - 1) > 0.08
    # Tolerances: optical densities and their fractions within 5 % (lamp colour: 0.85/1.0/1.12
    # gains per channel), the nucleus's fractions within 5 % for a stain 1.2 times as strong (the
    # faint cytoplasm's fractions move more: its thin optical density is near the plasma's noise).
    assert np.max(lamp) < 0.05 and np.max(stain) < 0.05


def test_extract_records_each_cells_scale_and_refuses_a_bad_pixel_size(datasets, tmp_path, capsys):
    folder = _sample_labels_csv(datasets / "pbc", tmp_path / "pbc", 1000)
    arff, csv = tmp_path / "out.arff", tmp_path / "out.csv"
    assert main(["extract", str(folder), "-o", str(arff), "--csv", str(csv), "--stain", "white-balance"]) == 0
    table = pd.read_csv(csv)
    assert (table["scale_source"] == "red cells").all() and table["um_per_pixel"].between(0.05, 0.2).all()
    assert "stain=white-balance" in arff.read_text(encoding="utf-8")
    user = tmp_path / "user.arff"
    assert main(["extract", str(folder), "-o", str(user), "--csv", str(tmp_path / "user.csv"),
                 "--pixel-size", "0.2"]) == 0
    sized = pd.read_csv(tmp_path / "user.csv")
    assert (sized["scale_source"] == "user").all()
    assert np.allclose(sized["Cell_Size_Area_um2"], sized["Cell_AreaShape_Area"] * 0.04)
    capsys.readouterr()
    assert main(["extract", str(folder), "-o", str(tmp_path / "bad.arff"), "--pixel-size", "-1"]) == 1
    assert "--pixel-size: must be a positive number" in capsys.readouterr().err
    assert not (tmp_path / "bad.arff").exists()
