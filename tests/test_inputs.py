"""Inputs as users have them: their own column names, label spellings and label maps, recognised by one
table (wekawbc/cells/dataset.py) in every layout and every command that reads images; 'wekawbc subsample';
the CSV that 'extract' writes read by Weka as its ARFF (identifier columns left out)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from wekawbc._io import WekawbcError
from wekawbc.cells.dataset import CLASSES, IndexFormat, load_dataset, parse_label_map
from wekawbc.cli import main

# Every spelling issue 16 names, and the usual ones beside them.
SPELLINGS = {
    "neutrophil": ("NEU", "neut", "neutro", "Neutrophils", "SNE", "seg"),
    "eosinophil": ("EOS", "eosi", "eos", "Eosinophils", "EO"),
    "basophil": ("baso", "BAS", "BA", "Basophils"),
    "lymphocyte": ("lymp", "LYT", "LYM", "lympho", "Lymphocytes", "LY"),
    "monocyte": ("mono", "MON", "MO", "Monocytes"),
}


@pytest.fixture(scope="module")
def images(datasets) -> dict[str, list[Path]]:
    """Three real pbc images per type."""
    with open(datasets / "pbc" / "labels.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return {label: [datasets / "pbc" / row["image"] for row in rows if row["label"] == label][:3]
            for label in CLASSES}


def _index(folder: Path, images, spelling: dict[str, str], columns=("file", "cell_type")) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "index.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for label, paths in images.items():
            for path in paths:
                shutil.copyfile(path, folder / path.name)
                writer.writerow([path.name, spelling[label]])
    return folder / "index.csv"


@pytest.mark.parametrize("position", range(4))
def test_every_spelling_in_an_index_and_in_class_folders(images, tmp_path, position):
    spelling = {label: names[position % len(names)] for label, names in SPELLINGS.items()}
    index = _index(tmp_path / "index", images, spelling)
    dataset = load_dataset(index, index=IndexFormat("file", "cell_type"))
    assert not dataset.problems and dataset.layout == "labels.csv"
    assert dataset.class_counts() == {label: 3 for label in CLASSES}
    for label, name in spelling.items():  # the same spellings as class folder names
        (tmp_path / "folders" / name).mkdir(parents=True)
        for path in images[label]:
            shutil.copyfile(path, tmp_path / "folders" / name / path.name)
    folders = load_dataset(tmp_path / "folders")
    assert folders.layout == "class folders" and not folders.problems
    assert folders.class_counts() == {label: 3 for label in CLASSES}


def test_label_map_from_pairs_and_file(images, tmp_path):
    spelling = {"neutrophil": "PMN-seg", "eosinophil": "E", "basophil": "B", "lymphocyte": "L", "monocyte": "M"}
    index = _index(tmp_path, images, spelling)
    pairs = "pmn seg=neutrophil,E=eos,B=basophil,L=lymphocyte,M=mono"
    (tmp_path / "map.txt").write_text("# my lab's codes\npmn_seg,neutrophil\nE=eosinophil\nB=baso\nL=lymp\nM=monocyte\n")
    for spec in (pairs, str(tmp_path / "map.txt")):
        dataset = load_dataset(index, index=IndexFormat.from_options("file", "cell_type", spec))
        assert dataset.class_counts() == {label: 3 for label in CLASSES} and not dataset.problems
    with pytest.raises(WekawbcError, match="label 'PMN-seg' is not one of"):  # no map: reported, not guessed
        load_dataset(index, index=IndexFormat("file", "cell_type"))


def test_label_map_naming_no_class_is_one_line_listing_the_valid_ones(images, tmp_path, capsys):
    index = _index(tmp_path / "data", images, {label: label for label in CLASSES})
    (index.parent / "m.pt").write_bytes(b"checked after the label map")
    with pytest.raises(Exception, match="'blast' is not a class; valid classes: neutrophil, eosinophil, basophil, "
                                        "lymphocyte, monocyte"):
        parse_label_map("seg=neutrophil,myelo=blast")
    commands = (["extract", str(index), "-o", str(tmp_path / "x.arff")],
                ["subsample", str(index), "--class-counts", "neutrophil=1", "-o", str(tmp_path / "s")],
                ["cnn", "train", str(index), "--out", str(tmp_path / "m.pt")],
                ["cnn", "predict", str(index.parent / "m.pt"), str(index), "-o", str(tmp_path / "p.csv")],
                ["validate-cells", str(index), "--check", "lobes"],
                ["demo", "--out", str(tmp_path / "demo"), "--data", str(index), "--no-progress"])
    for argv in commands:
        code = main([*argv, "--image-column", "file", "--label-column", "cell_type", "--label-map", "myelo=blast"])
        err = capsys.readouterr().err
        assert code == 1 and err.count("\n") == 1, (argv, err)
        assert err.startswith("wekawbc: error: --label-map: myelo=blast: 'blast' is not a class; valid classes: "
                              "neutrophil, eosinophil"), (argv, err)
    assert not any(p.name != "data" for p in tmp_path.iterdir())  # nothing written


def test_missing_image_column_names_the_option(images, tmp_path, capsys):
    index = _index(tmp_path, images, {label: label for label in CLASSES})
    assert main(["subsample", str(index), "--class-counts", "neutrophil=1", "-o", str(tmp_path / "s")]) == 1
    err = capsys.readouterr().err
    assert "no 'image' column (name yours with --image-column)" in err and "['file', 'cell_type']" in err


def test_subsample_command_and_its_cnn_alias(images, tmp_path, capsys):
    index = _index(tmp_path / "data", images, {label: SPELLINGS[label][0] for label in CLASSES})
    options = ["--image-column", "file", "--label-column", "cell_type", "--class-counts", "eosi=2,NEU=3,mono=1"]
    assert main(["subsample", str(index), *options, "-o", str(tmp_path / "a")]) == 0
    assert main(["cnn", "subsample", str(index), *options, "-o", str(tmp_path / "b")]) == 0
    assert "6 of 15 images" in capsys.readouterr().out
    written = (tmp_path / "a" / "labels.csv").read_text()
    assert written == (tmp_path / "b" / "labels.csv").read_text()
    subset = load_dataset(tmp_path / "a", allow_outside=True)
    assert subset.class_counts() == {"neutrophil": 3, "eosinophil": 2, "basophil": 0, "lymphocyte": 0,
                                     "monocyte": 1}


@pytest.fixture(scope="module")
def extracted(images, tmp_path_factory, jvm):
    """extract's ARFF and CSV of 15 real pbc cells, from an index with the user's own columns and spellings."""
    folder = tmp_path_factory.mktemp("extracted")
    index = _index(folder / "data", images, {label: SPELLINGS[label][1] for label in CLASSES})
    arff, table = folder / "cells.arff", folder / "cells.csv"
    assert main(["extract", str(index), "--image-column", "file", "--label-column", "cell_type", "-o", str(arff),
                 "--csv", str(table)]) == 0
    return arff, table


def test_extract_csv_gives_the_same_weka_result_as_its_arff(extracted, capsys):
    arff, table = extracted
    capsys.readouterr()
    texts = []
    for data in (arff, table):
        assert main(["weka", str(data), "--classifier", "weka.classifiers.trees.J48", "--folds", "3",
                     "--no-run-information"]) == 0
        out, err = capsys.readouterr()
        texts.append(out)
        if data == table:
            assert err.count("\n") == 1 and err.startswith("wekawbc: note: ") and "image, cell, x0" in err
            assert "um_per_pixel, scale_source, scale_note left out" in err
        else:
            assert err == ""
    assert texts[0] == texts[1]
    # ... and Weka reads the same header from both: no identifier learnt from.
    import warnings

    from wekawbc.weka.data import load_instances

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from_csv = load_instances(table)
    from_arff = load_instances(arff)
    assert from_csv.jobject.equalHeaders(from_arff.jobject), str(from_csv.jobject.equalHeadersMsg(from_arff.jobject))


def test_run_takes_feature_files_as_data_sets(extracted, tmp_path, capsys):
    """As Weka's Experimenter: ARFF and CSV files as data sets; the same numbers as 'wekawbc weka' on them."""
    import json

    arff, table = extracted
    config = tmp_path / "features.toml"
    config.write_text(f"""name = "features"
[[datasets]]
name = "arff"
path = "{arff}"
[[datasets]]
name = "csv"
features = "{table}"
[evaluation]
folds = 3
[[classifiers]]
name = "J48"
weka = "weka.classifiers.trees.J48 -C 0.25 -M 2"
[output]
reports = "{tmp_path / 'reports'}"
arff = "{tmp_path / 'arff'}"
compare = ""
""")
    assert main(["run", str(config), "--no-progress"]) == 0
    capsys.readouterr()
    run = tmp_path / "reports" / "features"
    folds = {name: json.loads((run / f"{name}-five" / "experiment.json").read_text())["folds"] for name in ("arff", "csv")}
    assert folds["arff"] == folds["csv"]
    assert main(["weka", str(arff), "--classifier", "weka.classifiers.trees.J48 -C 0.25 -M 2", "--folds", "3", "-o",
                 "--json", str(tmp_path / "weka.json")]) == 0
    weka = json.loads((tmp_path / "weka.json").read_text())["statistics"]
    pooled = sum(row["pct_correct"] * row["n_test"] for row in folds["arff"]) / sum(row["n_test"] for row in folds["arff"])
    assert pooled == pytest.approx(weka["pct_correct"], abs=1e-9)


def test_run_configuration_takes_the_index_options(images, tmp_path):
    from wekawbc.experiment.config import parse_config
    from wekawbc.experiment.data import select_cells

    index = _index(tmp_path / "data", images, {label: SPELLINGS[label][2] for label in CLASSES} | {"monocyte": "M"})
    raw = {"datasets": [{"name": "mine", "path": str(index), "image_column": "file", "label_column": "cell_type",
                         "label_map": {"M": "monocyte"}, "class_counts": {"eos": 2, "mono": 3}}],
           "classifiers": [{"weka": "weka.classifiers.trees.J48"}]}
    (spec,) = parse_config(raw).datasets
    selection = select_cells(spec.name, spec.path, spec.class_counts, 1, index=spec.index)
    assert sorted(r.label for r in selection.records) == ["eosinophil"] * 2 + ["monocyte"] * 3
    raw["datasets"][0]["label_map"] = "M=myeloblast"
    with pytest.raises(WekawbcError, match=r"label_map.*'myeloblast' is not a class; valid classes: neutrophil, "):
        parse_config(raw)


def test_cnn_reads_the_users_columns_and_spellings(images, tmp_path, capsys):
    index = _index(tmp_path / "data", images, {label: SPELLINGS[label][3 % len(SPELLINGS[label])] for label in CLASSES})
    columns = ["--image-column", "file", "--label-column", "cell_type"]
    tiny = ["--epochs", "1", "--image-size", "16", "--threads", "1", "--quiet"]
    assert main(["cnn", "train", str(index), *columns, "--out", str(tmp_path / "m.pt"), *tiny]) == 0
    assert "trained on 15 images (neutrophil 3, eosinophil 3, basophil 3, lymphocyte 3, monocyte 3)" in \
        capsys.readouterr().out
    assert main(["cnn", "predict", str(tmp_path / "m.pt"), str(index), *columns, "-o", str(tmp_path / "p.csv"),
                 "--quiet", "--mode", "crop"]) == 0
    from wekawbc.predictions import read_predictions_csv

    predictions = read_predictions_csv(tmp_path / "p.csv")
    assert sorted(predictions.actual.tolist()) == sorted([0, 1, 2, 3, 4] * 3)  # every label read, none left out


def test_demo_passes_the_index_options_to_its_configuration(images, tmp_path):
    from wekawbc.experiment.cli import demo_config
    from wekawbc.experiment.config import parse_config

    index = _index(tmp_path / "mine", images, {label: label for label in CLASSES} | {"neutrophil": "SEGM"})
    document = demo_config(tmp_path / "out", index, ["J48"], ["none"], 3, 1, 1, None,
                           {"image_column": "file", "label_column": "cell_type", "label_map": "SEGM=neutrophil"})
    (spec,) = parse_config(document).datasets
    assert spec.name == "mine" and spec.path == index.resolve()
    assert spec.index == IndexFormat("file", "cell_type", {"segm": "neutrophil"})
    assert parse_config(document).run_dir == tmp_path / "out"
