"""Smear fields (issue 13): every leukocyte and nothing else, one rule for fields, grouped folds."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from wekawbc._io import WekawbcError
from wekawbc.cells.dataset import load_dataset, read_image
from wekawbc.cells.detection import (
    DetectionParams,
    FieldTooLarge,
    check_field_size,
    isolate_leukocytes,
)
from wekawbc.cells.fields import choose_cells, main_cell
from wekawbc.cells.validation import check_boxes, in_share, validate_detection
from wekawbc.protocol.folds import (
    cv_train_test_indices,
    grouped_cv_train_test_indices,
    grouped_fold_assignment,
    grouping_note,
    stratified_fold_assignment,
)


def test_main_cell_is_the_largest_most_central():
    shape = (480, 640)
    boxes = [(0, 0, 60, 60), (280, 200, 380, 300), (560, 400, 640, 480)]
    assert main_cell(boxes, shape) == 1
    chosen = choose_cells(boxes, shape, True, box=lambda b: b)
    assert chosen == [(1, boxes[1])]  # the cell keeps its number under both rules
    assert choose_cells(boxes, shape, False, box=lambda b: b) == list(enumerate(boxes))


def test_field_too_large_is_a_clear_error():
    with pytest.raises(FieldTooLarge, match="exceeds the limit of 1,000 pixels"):
        check_field_size((100, 100, 3), DetectionParams(max_pixels=1000))
    with pytest.raises(FieldTooLarge):
        isolate_leukocytes(np.full((40, 40, 3), 230, np.uint8), DetectionParams(max_pixels=1000))


def test_boxes_that_do_not_fit_the_image_are_refused(datasets):
    record = load_dataset(datasets / "bccd")[0]
    with pytest.raises(WekawbcError, match="does not fit the 640x480 image"):
        check_boxes(record, [(600, 400, 700, 480)], (480, 640))


def test_singleton_groups_give_wekas_folds_and_no_note():
    y = np.array([0, 1, 0, 1, 2, 0, 1, 0, 1, 1, 0, 2, 2, 0])
    groups = [f"image{i}" for i in range(len(y))]
    assert np.array_equal(grouped_fold_assignment(y, groups, 4, 3), stratified_fold_assignment(y, 4, 3))
    for (train, test), (weka_train, weka_test) in zip(grouped_cv_train_test_indices(y, groups, 4, 3),
                                                      cv_train_test_indices(y, 4, 3)):
        assert np.array_equal(train, weka_train) and np.array_equal(test, weka_test)
    assert grouping_note(groups, 4) is None


@pytest.fixture(scope="module")
def field_table(datasets):
    """Features of every leukocyte in 40 bccd fields (several fields hold more than one)."""
    from dataclasses import replace

    from wekawbc.cells.dataset import CellDataset
    from wekawbc.features.batch import extract_dataset

    dataset = load_dataset(datasets / "bccd")
    # Fields with two annotated leukocytes carry no single label in bccd: give them one (alternating),
    # so that the cells of one field share a class as extracted cells of a labelled field do.
    several = [replace(r, label=("neutrophil", "eosinophil")[i % 2])
               for i, r in enumerate(r for r in dataset if r.extra.get("n_wbc_boxes") == "2" and not r.label)][:8]
    single = [r for r in dataset if r.label and r.extra.get("n_wbc_boxes") == "1"][:40]
    return extract_dataset(CellDataset(several + single, layout="labels.csv"), mode="field").table


def test_grouped_cv_on_fields_keeps_each_image_in_one_fold(field_table, jvm):
    from wekawbc.cells.dataset import CLASSES
    from wekawbc.features.registry import feature_names
    from wekawbc.weka.sklearn import WekaClassifier, cross_validate_predictions

    table = field_table
    assert table["image"].duplicated().any(), "the sample must hold fields with several detections"
    y = table["class"].to_numpy()
    folds = grouped_cv_train_test_indices(y, table["image"], 5, 1)
    fold_of_image: dict[str, set[int]] = {}
    for fold, (train, test) in enumerate(folds):
        assert not set(table["image"].iloc[train]) & set(table["image"].iloc[test])
        for image in table["image"].iloc[test]:
            fold_of_image.setdefault(image, set()).add(fold)
    assert all(len(found) == 1 for found in fold_of_image.values())
    assert sorted(np.concatenate([test for _, test in folds]).tolist()) == list(range(len(table)))
    assert "folds grouped" in grouping_note(table["image"], 5)
    # Weka's own classifier on those folds (real JVM): every cell predicted once, by a model that
    # never saw its image.
    X = table[list(feature_names())].to_numpy(dtype=float)
    predictions = cross_validate_predictions(WekaClassifier("weka.classifiers.trees.J48"), X, y, folds, CLASSES,
                                             ids=list(table["image"]))
    assert predictions.n_instances == len(table)


def test_cell_rows_name_image_cell_and_box(field_table):
    assert list(field_table.columns[:7]) == ["image", "cell", "x0", "y0", "x1", "y1", "confidence"]
    assert ((field_table["confidence"] >= 0.5) & (field_table["confidence"] <= 1)).all()


@pytest.mark.slow
def test_detection_holds_on_a_bluish_stain(datasets):
    records = [r for r in load_dataset(datasets / "bccd") if in_share(r, "held-out")][::3]
    report = validate_detection(records, stain="bluish")
    assert report.recall >= 0.9 and report.precision >= 0.9
    assert set(report.false_by_type) == {"red-cell cluster", "platelet clump", "edge", "poor box"}


def test_cnn_predict_on_fields_one_row_per_leukocyte(datasets, tmp_path, capsys):
    pytest.importorskip("torch")
    from wekawbc.cli import main

    pbc = datasets / "pbc"
    with open(pbc / "labels.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    train = tmp_path / "train"
    train.mkdir()
    with open(train / "labels.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "label"])
        for label in ("neutrophil", "lymphocyte"):
            for row in [r for r in rows if r["label"] == label][:6]:
                writer.writerow([str(pbc / row["image"]), label])
    model = tmp_path / "m.pt"
    # The index names images in the shared data set, outside its own folder: allowed explicitly.
    assert main(["cnn", "train", str(train), "--out", str(model), "--epochs", "1", "--image-size", "16",
                 "--threads", "1", "--quiet", "--allow-outside"]) == 0
    fields = tmp_path / "fields"
    fields.mkdir()
    source = [r for r in load_dataset(datasets / "bccd") if r.extra.get("n_wbc_boxes") == "2"][0]
    (fields / source.image.name).write_bytes(source.image.read_bytes())
    import cv2

    cv2.imwrite(str(fields / "blank.png"), np.full((480, 640, 3), 230, np.uint8))
    code = main(["cnn", "predict", str(model), str(fields), "-o", str(tmp_path / "p.csv"), "--quiet"])
    assert code == 3 and "no leukocyte found" in capsys.readouterr().err
    with open(tmp_path / "p.csv", newline="", encoding="utf-8") as handle:
        out = list(csv.DictReader(handle))
    cells = [row for row in out if row["status"] == "ok"]
    assert len(cells) == len(isolate_leukocytes(read_image(source.image))) >= 2
    assert all(Path(row["image"]).name == source.image.name and row["x1"] for row in cells)
    assert [row["status"] for row in out if Path(row["image"]).name == "blank.png"] == ["no leukocyte"]
    assert main(["cnn", "predict", str(model), str(fields), "-o", str(tmp_path / "one.csv"), "--quiet",
                 "--one-cell-per-image"]) == 3
    with open(tmp_path / "one.csv", newline="", encoding="utf-8") as handle:
        assert sum(row["status"] == "ok" for row in csv.DictReader(handle)) == 1


def test_weka_run_with_singleton_groups_equals_wekas_own_cv(jvm):
    import pandas as pd

    from wekawbc.weka.run import run_classifier

    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.normal(size=(40, 3)), columns=["a", "b", "c"])
    frame["class"] = pd.Categorical(rng.choice(["x", "y"], 40), categories=["x", "y"])
    weka = run_classifier(frame, "weka.classifiers.trees.J48", folds=5, seed=2)
    grouped = run_classifier(frame, "weka.classifiers.trees.J48", folds=5, seed=2, groups=[str(i) for i in range(40)])
    assert grouped.grouping is None and grouped.summary_text == weka.summary_text
    assert np.array_equal(grouped.predictions.distribution, weka.predictions.distribution)
    assert grouped.predictions.ids == weka.predictions.ids


def test_weka_cli_groups_keep_an_image_in_one_fold(field_table, tmp_path, capsys, jvm):
    from wekawbc.arff import write_arff, write_csv
    from wekawbc.cells.dataset import CLASSES
    from wekawbc.cli import main
    from wekawbc.features.registry import feature_names

    write_arff(tmp_path / "cells.arff", field_table[[*feature_names(), "class"]], CLASSES, relation="cells")
    write_csv(tmp_path / "cells.csv", field_table)
    assert main(["weka", str(tmp_path / "cells.arff"), "--classifier", "weka.classifiers.trees.J48", "--folds", "5",
                 "--groups", str(tmp_path / "cells.csv"), "--json", str(tmp_path / "run.json")]) == 0
    captured = capsys.readouterr()
    assert "folds grouped" in captured.err and "(folds grouped)" in captured.out
    import json

    document = json.loads((tmp_path / "run.json").read_text())
    assert "folds grouped" in document["grouping"]


def test_cnn_evaluate_on_fields_keeps_a_field_in_one_fold(datasets, tmp_path, capsys):
    pytest.importorskip("torch")
    from wekawbc.cli import main
    from wekawbc.predictions import read_predictions_csv

    dataset = load_dataset(datasets / "bccd")
    several = [r for r in dataset if r.extra.get("n_wbc_boxes") == "2" and not r.label][:3]  # two cells each
    records = [r for r in dataset if r.extra.get("n_wbc_boxes") == "1"]
    chosen = ([(r, "neutrophil") for r in several] + [(r, r.label) for r in records if r.label == "neutrophil"][:3]
              + [(r, r.label) for r in records if r.label == "eosinophil"][:5])
    with open(tmp_path / "labels.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "label"])
        for record, label in chosen:
            writer.writerow([str(record.image), label])
    assert main(["cnn", "evaluate", str(tmp_path), "--folds", "3", "--epochs", "1", "--image-size", "16",
                 "--threads", "1", "--quiet", "--bootstrap", "0", "--out", str(tmp_path / "ev"),
                 "--allow-outside"]) == 0  # the index names the shared data set's images
    assert "folds grouped" in capsys.readouterr().err
    predictions = read_predictions_csv(tmp_path / "ev" / "predictions.csv")
    fold_of: dict[str, set[int]] = {}
    for identifier, fold in zip(predictions.ids, predictions.fold):
        fold_of.setdefault(identifier.rsplit("#", 1)[0], set()).add(int(fold))
    assert len(predictions.ids) > len(fold_of)  # some field gave several cells
    assert all(len(folds) == 1 for folds in fold_of.values())


def test_extract_reports_a_field_too_large_and_goes_on(datasets, tmp_path, capsys):
    """A field over the pixel limit is one reported image (the limit named), not a stopped batch."""
    import cv2

    from wekawbc.cli import main

    record = next(r for r in load_dataset(datasets / "bccd") if r.extra.get("n_wbc_boxes") == "1")
    data = tmp_path / "fields"
    data.mkdir()
    (data / record.image.name).write_bytes(record.image.read_bytes())
    limit = DetectionParams().max_pixels
    cv2.imwrite(str(data / "huge.png"), np.full((limit // 6000 + 1, 6000, 3), 230, np.uint8))
    out = tmp_path / "out.arff"
    assert main(["extract", str(data), "-o", str(out), "--mode", "field"]) == 3
    assert f"exceeds the limit of {limit:,} pixels" in capsys.readouterr().err
    with open(tmp_path / "out.log.csv", newline="", encoding="utf-8") as handle:
        status = {Path(row["image"]).name: row["status"] for row in csv.DictReader(handle)}
    assert status == {record.image.name: "ok", "huge.png": "failed"}
    assert out.is_file()


def test_validate_cells_refuses_a_box_that_does_not_fit_its_image(datasets, tmp_path, capsys):
    """A box file (wbc_boxes_xyxy) that does not match the image size: one clear line, no output."""
    from wekawbc.cli import main

    images = datasets / "bccd" / "images"
    (tmp_path / "labels.csv").write_text("image,label,wbc_boxes_xyxy\n"
                                         f"{images}/BloodImage_00000.jpg,neutrophil,\"260,177,900,376\"\n")
    out = tmp_path / "det.json"
    code = main(["validate-cells", str(tmp_path), "--check", "detection", "--json", str(out), "--allow-outside"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1 and err[0].startswith("wekawbc: error: ")
    assert "box 260,177,900,376 does not fit the 640x480 image" in err[0]
    assert not out.exists()


def test_bluish_red_cells_do_not_hide_the_nucleus(datasets):
    """Development fields where red cells recoloured blue-violet hid the leukocyte from the earlier
    detector (its red-cell reference took the red cells for nuclei): each annotated leukocyte is found,
    and nothing else."""
    from wekawbc.cells.detection import box_iou
    from wekawbc.cells.validation import field_image, truth_boxes

    names = {"BloodImage_00007", "BloodImage_00041", "BloodImage_00066", "BloodImage_00069"}
    records = [r for r in load_dataset(datasets / "bccd") if r.image.stem in names]
    assert len(records) == len(names) and not any(in_share(r, "held-out") for r in records)
    for record in records:
        truth = truth_boxes(record)
        found = isolate_leukocytes(field_image(record, "bluish"))
        assert len(found) == len(truth) == 1, record.image.name
        assert box_iou(found[0].box, truth[0]) >= 0.5 and found[0].confidence >= 0.5
