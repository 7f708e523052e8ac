"""Hostile and malformed inputs (issue 15): each is refused with one line naming the file, or read right.

Every case here reproduces a failure found by the issue's fuzzing campaign: a traceback, a memory
blow-up, a number that was silently wrong, or a file read or written where it should not be.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from wekawbc._io import WekawbcError
from wekawbc.cli import main
from wekawbc.predictions import read_predictions_csv, read_train_counts_csv

FOUR_ROWS = "0,a,1,0.9,0.1\n1,b,1,0.2,0.8\n0,b,1,0.6,0.4\n1,a,1,0.7,0.3\n"


def _write(tmp_path: Path, body: str | bytes, name: str = "preds.csv") -> Path:
    path = tmp_path / name
    if isinstance(body, bytes):
        path.write_bytes(body)
    else:
        path.write_text(body)
    return path


def _refused(argv: list[str], capsys: pytest.CaptureFixture, *needles: str) -> str:
    """Run the command line, expect exit 1 and one ``wekawbc: error:`` line holding every needle."""
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("wekawbc: error: ") and err.count("\n") == 1, err
    for needle in needles:
        assert re.search(needle, err), (needle, err)
    return err


# ----- item 9: the predictions CSV reader -------------------------------------------------------
def test_bom_does_not_hide_the_fold_column(tmp_path: Path) -> None:
    plain = read_predictions_csv(_write(tmp_path, "fold,actual,weight,p_a,p_b\n" + FOUR_ROWS, "plain.csv"))
    bom = read_predictions_csv(_write(tmp_path, b"\xef\xbb\xbffold,actual,weight,p_a,p_b\n" + FOUR_ROWS.encode()))
    assert bom.n_folds == plain.n_folds == 2
    np.testing.assert_array_equal(bom.fold, plain.fold)


@pytest.mark.parametrize("header, needle", [
    ("fold,actual,weight,weight,p_a,p_b", r"duplicate column 'weight'"),
    ("fold,actual,weight,p_a,p_a,p_b", r"duplicate column 'p_a'"),
    ("Fold,actual,weight,p_a,p_b", r"unknown column 'Fold' \(did you mean 'fold'\?\)"),
    ("fold,actual,Weight,p_a,p_b", r"unknown column 'Weight' \(did you mean 'weight'\?\)"),
    ("fold,actual,weigth,p_a,p_b", r"unknown column 'weigth'"),
])
def test_duplicate_and_unknown_columns_are_refused(tmp_path: Path, header: str, needle: str) -> None:
    cells = len(header.split(","))
    body = header + "\n" + "\n".join(",".join(["0", "a", "1"] + ["0.5"] * (cells - 3)) for _ in range(2)) + "\n"
    path = _write(tmp_path, body)
    with pytest.raises(WekawbcError, match=needle) as raised:
        read_predictions_csv(path)
    assert str(path) in str(raised.value)


@pytest.mark.parametrize("fold, needle", [
    ("1e19", r"row 2: fold '1e19' is not a whole number from 0 to 3"),
    ("1e10", r"row 2: fold '1e10' is not a whole number from 0 to 3"),
    ("4", r"row 2: fold '4' is not a whole number from 0 to 3"),
    ("-1", r"row 2: fold '-1'"),
    ("inf", r"row 2: fold 'inf'"),
    ("nan", r"row 2: fold 'nan'"),
    ("0.5", r"row 2: fold '0.5'"),
])
def test_fold_numbers_are_small_whole_numbers(tmp_path: Path, fold: str, needle: str) -> None:
    rows = FOUR_ROWS.split("\n")
    rows[0] = fold + rows[0][1:]
    with pytest.raises(WekawbcError, match=needle):
        read_predictions_csv(_write(tmp_path, "fold,actual,weight,p_a,p_b\n" + "\n".join(rows)))


@pytest.mark.parametrize("weight, needle", [
    ("inf", r"row 2: weight 'inf' is not a finite number >= 0"),
    ("-Infinity", r"row 2: weight '-Infinity' is not a finite number >= 0"),
    ("nan", r"row 2: weight 'nan' is not a finite number >= 0"),
    ("-1", r"row 2: weight '-1' is not a finite number >= 0"),
    ("1e300", r"weights sum to 1e\+300"),
])
def test_weights_are_finite_non_negative_and_bounded(tmp_path: Path, weight: str, needle: str) -> None:
    body = f"fold,actual,weight,p_a,p_b\n0,a,{weight},0.9,0.1\n" + FOUR_ROWS[FOUR_ROWS.index("\n") + 1:]
    with pytest.raises(WekawbcError, match=needle):
        read_predictions_csv(_write(tmp_path, body))


def test_weight_1e300_no_longer_prints_infinity(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    body = "fold,actual,weight,p_a,p_b\n0,a,1e300,0.9,0.1\n" + FOUR_ROWS[FOUR_ROWS.index("\n") + 1:]
    err = _refused(["evaluate", str(_write(tmp_path, body))], capsys, "weights sum to")
    assert "Infinity" not in err


# ----- item 10: `wekawbc evaluate` -----------------------------------------------------------------
def test_weights_beyond_double_precision_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    # Found by the fuzz run: 1 + 1.7e-236 - 1 cancels to 0 classified weight, and Weka's arithmetic
    # (which the engine follows) divides by it: Infinity. Refused, saying why.
    path = _write(tmp_path, "actual,weight,fold,p_a,p_b\na,1.0,0,0.0,0.0\na,1.6998125967353873e-236,0,0.0,1.0\n")
    err = _refused(["evaluate", str(path), "--imbalance"], capsys, str(path), "too many orders of magnitude")
    assert "Infinity" not in err


@pytest.mark.parametrize("flags", [["--imbalance"], ["--json", "OUT"], ["--bootstrap", "20"]])
def test_all_zero_weights_evaluate_cleanly(tmp_path: Path, capsys: pytest.CaptureFixture, flags: list[str]) -> None:
    path = _write(tmp_path, "fold,actual,weight,p_a,p_b\n0,a,0,0.9,0.1\n1,b,0,0.2,0.8\n")
    out = tmp_path / "out.json"
    argv = ["evaluate", str(path), *[str(out) if f == "OUT" else f for f in flags]]
    assert main(argv) == 0, capsys.readouterr().err
    if "--json" in flags:
        document = json.loads(out.read_text())
        assert document["evaluation"]["imbalance"]["balanced_accuracy"] is None


def test_huge_fold_number_is_refused_without_allocating(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = _write(tmp_path, "fold,actual,weight,p_a,p_b\n1e10,a,1,0.9,0.1\n0,b,1,0.2,0.8\n")
    _refused(["evaluate", str(path)], capsys, str(path), "fold '1e10'")


def test_probability_slightly_above_one(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    # The sum tolerance (default 1e-3) accepts a row summing to 1.0005, but a probability above 1 is
    # refused: it is no probability, and scikit-learn's Brier score would raise on it.
    path = _write(tmp_path, "fold,actual,weight,p_a,p_b\n0,a,1,1.0005,0\n1,b,1,0.2,0.8\n")
    _refused(["evaluate", str(path), "--imbalance"], capsys, str(path), r"probabilities above 1 in rows 2")
    # a rounding excess (1 + 1e-12) is within the stated 1e-9 and is scored
    path = _write(tmp_path, "fold,actual,weight,p_a,p_b\n0,a,1,1.000000000001,0\n1,b,1,0.2,0.8\n", "ok.csv")
    assert main(["evaluate", str(path), "--imbalance"]) == 0


@pytest.mark.parametrize("counts, needle", [
    ("fold,a,b\nnan,1,2\n1,3,4\n", r"row 2: fold 'nan'"),
    ("fold,a,b\ninf,1,2\n1,3,4\n", r"row 2: fold 'inf'"),
    ("fold,a,b\n0,1,2\n0,3,4\n", r"row 3: fold 0 appears twice"),
    ("fold,a,b\n0,1,2\n1,-3,4\n", r"row 3: count '-3' for 'b'|row 3: count '-3' for 'a'"),
    ("fold,a,b\n0,1,inf\n1,3,4\n", r"row 2: count 'inf' for 'b'"),
    ("fold,a,b\n0,1,nan\n1,3,4\n", r"row 2: count 'nan' for 'b'"),
    ("fold,a,b\n0,1,2\n1e19,3,4\n", r"row 3: fold '1e19'"),
])
def test_bad_train_counts_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture, counts: str,
                                      needle: str) -> None:
    preds = _write(tmp_path, "fold,actual,p_a,p_b\n0,a,0.5,0.5\n1,b,0.2,0.8\n")
    counts_path = _write(tmp_path, counts, "counts.csv")
    _refused(["evaluate", str(preds), "--train-counts", str(counts_path)], capsys, re.escape(str(counts_path)),
             needle)


def test_train_counts_with_bom(tmp_path: Path) -> None:
    counts = read_train_counts_csv(_write(tmp_path, b"\xef\xbb\xbffold,a,b\n0,1,2\n1,3,4\n", "c.csv"), ("a", "b"))
    np.testing.assert_array_equal(counts, [[1, 2], [3, 4]])


def test_evaluate_errors_never_traceback_in_a_subprocess(tmp_path: Path) -> None:
    path = _write(tmp_path, "fold,actual,weight,p_a,p_a\n0,a,1,0.9,0.1\n1,a,1,0.2,0.8\n")
    done = subprocess.run([sys.executable, "-m", "wekawbc", "evaluate", str(path)], capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr == f"wekawbc: error: {path}: duplicate column 'p_a' in the header\n"


# ----- item 14: reads outside the data folder, and non-images read whole --------------------------
def _png(path: Path, size: tuple[int, int] = (24, 20)) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (200, 120, 90)).save(path)
    return path


def test_labels_csv_entries_outside_the_folder_are_refused(tmp_path: Path) -> None:
    from wekawbc.cells.dataset import load_dataset

    _png(tmp_path / "secret.png")
    outside, linked = _png(tmp_path / "secret2.png"), _png(tmp_path / "secret3.png")
    data = tmp_path / "data"
    _png(data / "images" / "inside.png")
    (data / "link.png").symlink_to(linked)
    (data / "labels.csv").write_text(f"image,label\nimages/inside.png,lymphocyte\n../secret.png,monocyte\n"
                                     f"{outside},monocyte\nlink.png,monocyte\n")
    dataset = load_dataset(data)
    assert [r.image.name for r in dataset] == ["inside.png"]
    problems = [str(p) for p in dataset.problems]
    assert len(problems) == 3 and all("outside the data folder" in p for p in problems), problems
    assert f"symlink to {linked}" in problems[2]
    assert all(str(data / "labels.csv") in p for p in problems)
    allowed = load_dataset(data, allow_outside=True)
    assert len(allowed) == 4 and not allowed.problems


def test_extract_refuses_outside_entries_unless_allowed(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from wekawbc.cells.dataset import load_dataset

    outside = _png(tmp_path / "secret.png")
    data = tmp_path / "data"
    data.mkdir()
    (data / "labels.csv").write_text(f"image,label\n{outside},monocyte\n")
    _refused(["extract", str(data), "-o", str(tmp_path / "x.arff")], capsys, "outside the data folder",
             "--allow-outside")
    assert len(load_dataset(data, allow_outside=True)) == 1


def test_class_folder_symlink_out_is_refused(tmp_path: Path) -> None:
    from wekawbc.cells.dataset import load_dataset

    outside = _png(tmp_path / "elsewhere" / "x.png")
    _png(tmp_path / "data" / "lymphocyte" / "a.png")
    (tmp_path / "data" / "lymphocyte" / "b.png").symlink_to(outside)
    dataset = load_dataset(tmp_path / "data")
    assert [r.image.name for r in dataset] == ["a.png"]
    assert "symlink to" in str(dataset.problems[0]) and "b.png" in str(dataset.problems[0])


def test_big_non_image_is_not_read_whole(tmp_path: Path) -> None:
    import resource

    from wekawbc.cells.dataset import read_image

    big = tmp_path / "big.tif"
    with open(big, "wb") as handle:  # a sparse 1 GiB file of zeros: no image signature
        handle.truncate(1 << 30)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(WekawbcError, match=r"big.tif: not a readable image"):
        read_image(big)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mib < 100, f"reading a 1 GiB non-image grew the process by {grown_mib:.0f} MiB"


# ----- item 6: decompression bombs --------------------------------------------------------------
def _bomb(path: Path, side: int = 20000) -> Path:
    """A PNG whose header declares side x side pixels (a few hundred kB on disk)."""
    import zlib
    import struct

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + b"\x00" * side  # filter byte + one grey byte per pixel
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
           + chunk(b"IDAT", data) + chunk(b"IEND", b""))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png)
    return path


def test_read_image_states_the_pixel_limit(tmp_path: Path) -> None:
    from wekawbc.cells.dataset import MAX_IMAGE_PIXELS, read_image

    for side in (20000, 8000):  # Pillow refuses the first when opening it; wekawbc's own limit the second
        with pytest.raises(WekawbcError, match=rf"bomb.png: image of .*more than the limit of "
                                               rf"{MAX_IMAGE_PIXELS:,} pixels"):
            read_image(_bomb(tmp_path / "bomb.png", side))


def test_cnn_train_and_predict_skip_a_bomb_and_report_it(datasets: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture) -> None:
    import shutil

    pytest.importorskip("torch")
    data = tmp_path / "data"
    for label in ("lymphocyte", "neutrophil"):
        source = sorted((datasets / "pbc" / "images" / label).iterdir())[:4]
        (data / label).mkdir(parents=True)
        for image in source:
            shutil.copyfile(image, data / label / image.name)
    bomb = _bomb(data / "neutrophil" / "bomb.png")
    model = tmp_path / "m.pt"
    tiny = ["--epochs", "1", "--image-size", "16", "--threads", "1", "--quiet"]
    assert main(["cnn", "train", str(data), "--out", str(model), *tiny]) == 3
    err = capsys.readouterr().err
    assert "1 image(s) skipped" in err and f"{bomb}: image of more than the limit" in err and model.is_file()
    out = tmp_path / "p.csv"
    assert main(["cnn", "predict", str(model), str(data), "-o", str(out), "--quiet"]) == 3
    assert str(bomb) in capsys.readouterr().err
    assert len(read_predictions_csv(out).actual) == 8


# ----- item 17: user text in Markdown reports -----------------------------------------------------
HOSTILE_LABELS = ("<script>alert(1)</script>", "a|b `c` *d* [e](javascript:x)", "x:y")


def test_markdown_reports_escape_user_text(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from wekawbc.evaluation import evaluate
    from wekawbc.predictions import Predictions
    from wekawbc.report.runfolder import write_run_folder

    rng = np.random.default_rng(0)
    actual = np.arange(30) % 3
    predictions = Predictions(HOSTILE_LABELS, actual, rng.dirichlet(np.ones(3), 30), fold=np.arange(30) % 3)
    runs = []
    for name in ("one", "two"):
        runs.append(write_run_folder(tmp_path / name, evaluate(predictions), title="<img src=x onerror=alert(1)>",
                                     command="wekawbc run ``` <b>bold</b>\n# heading", n_bootstrap=0, plots=False))
    markdown = (runs[0] / "report.md").read_text()
    assert main(["report", str(runs[0]), str(runs[1]), "-o", str(tmp_path / "cmp")]) == 0
    capsys.readouterr()
    markdown += (tmp_path / "cmp" / "runs.md").read_text()
    # Weka's text sits verbatim in a fenced block and commands in code spans (CommonMark shows both as
    # text, never as HTML); everywhere else no raw tag may remain.
    fence = re.search(r"^(`{3,})\n", markdown, re.M).group(1)
    markdown = re.sub(rf"^{fence}\n.*?\n{fence}\n", "", markdown, flags=re.S | re.M)
    assert "<b>bold</b>" in markdown  # inside a code span ...
    markdown = re.sub(r"(?<!`)(`+)(?!`).*?(?<!`)\1(?!`)", "", markdown)  # ... which closes where it should
    for raw in ("<script", "<img", "<b>", "\n# heading"):
        assert raw not in markdown, raw
    assert not re.search(r"(?<!\\)\]\(javascript", markdown)  # no link: its brackets are escaped
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in markdown  # shown as text, not dropped
    assert "a\\|b" in markdown  # a table cell's pipe is escaped


# ----- item 18: crafted model files ----------------------------------------------------------------
def _model_file(tmp_path: Path) -> Path:
    from wekawbc.cells.dataset import CLASSES
    from wekawbc.cnn.images import Preprocessing
    from wekawbc.cnn.model_file import save_model
    from wekawbc.cnn.network import CellNet
    from wekawbc.cnn.training import TrainedCnn, TrainSettings

    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    settings = TrainSettings(epochs=1, image_size=16, channels=(4, 8))
    network = CellNet(len(CLASSES), settings.channels, settings.dropout).eval()
    model = TrainedCnn(network, CLASSES, Preprocessing(16, 0.7), settings, [], 1, "test", [1] * 5)
    return save_model(model, tmp_path / "model.pt")


def _tamper(path: Path, change) -> Path:
    import torch

    payload = torch.load(path, map_location="cpu", weights_only=True)
    change(payload)
    torch.save(payload, path)
    return path


def _set(*keys, value):
    def change(payload):
        target = payload
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value(target[keys[-1]]) if callable(value) else value
    return change


def _drop(*keys):
    def change(payload):
        target = payload
        for key in keys[:-1]:
            target = target[key]
        del target[keys[-1]]
    return change


MODEL_TAMPERING = {
    "nan weights": (_set("state_dict", "classifier.3.weight", value=lambda t: t * float("nan")), "not finite"),
    "inf bias": (_set("state_dict", "classifier.3.bias", value=lambda t: t + float("inf")), "not finite"),
    "negative variance": (_set("state_dict", "features.1.running_var", value=lambda t: -t), "negative"),
    "std 0": (_set("preprocessing", "std", value=[0.0, 0.25, 0.25]), "std"),
    "std nan": (_set("preprocessing", "std", value=[float("nan"), 0.25, 0.25]), "std"),
    "mean inf": (_set("preprocessing", "mean", value=[float("inf"), 0.5, 0.5]), "mean"),
    "image_size 0": (_set("preprocessing", "image_size", value=0), "image_size"),
    "image_size -5": (_set("preprocessing", "image_size", value=-5), "image_size"),
    "image_size 60000": (_set("preprocessing", "image_size", value=60000), "image_size"),
    "image_size text": (_set("preprocessing", "image_size", value="big"), "image_size"),
    "crop_fraction 0": (_set("preprocessing", "crop_fraction", value=0.0), "crop_fraction"),
    "no preprocessing": (_drop("preprocessing"), "preprocessing"),
    "no std": (_drop("preprocessing", "std"), "std"),
    "no labels": (_drop("labels"), "labels"),
    "labels not a list": (_set("labels", value=7), "labels"),
    "no settings": (_drop("settings"), "settings"),
    "bad channels": (_set("settings", "channels", value=["x"]), "settings"),
    "epochs inf": (_set("settings", "epochs", value=float("inf")), "settings"),  # found by the long fuzz run
    "dropout nan": (_set("settings", "dropout", value=float("nan")), "dropout"),  # found by the long fuzz run
    "best_epoch inf": (_set("best_epoch", value=float("inf")), "training record"),  # found by the long fuzz run
    "no weights": (_drop("state_dict"), "state_dict"),
    "weights not tensors": (_set("state_dict", value={"a": 1}), "weights"),
}


@pytest.mark.parametrize("case", sorted(MODEL_TAMPERING))
def test_crafted_model_files_give_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture, case: str) -> None:
    change, needle = MODEL_TAMPERING[case]
    model = _tamper(_model_file(tmp_path), change)
    images = tmp_path / "images"
    _png(images / "cell.png", (40, 40))
    _refused(["cnn", "predict", str(model), str(images), "-o", str(tmp_path / "p.csv"), "--quiet"], capsys,
             re.escape(str(model)), needle)
    assert not (tmp_path / "p.csv").exists()


def test_untampered_model_file_predicts_finite_probabilities(tmp_path: Path) -> None:
    model = _model_file(tmp_path)
    images = tmp_path / "images"
    _png(images / "cell.png", (40, 40))
    assert main(["cnn", "predict", str(model), str(images), "-o", str(tmp_path / "p.csv"), "--quiet"]) == 0
    predictions = read_predictions_csv(tmp_path / "p.csv")
    assert np.isfinite(predictions.distribution).all()
    np.testing.assert_allclose(predictions.distribution.sum(axis=1), 1)


# ----- item 15: a full disk ---------------------------------------------------------------------------
@pytest.fixture()
def full_disk(tmp_path: Path):
    """A 16 MiB tmpfs in ``tmp_path/disk`` and a function filling it up; skipped where it cannot be mounted."""

    disk = tmp_path / "disk"
    disk.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(disk)], capture_output=True,
                          text=True)
    if done.returncode != 0:
        pytest.skip(f"a small tmpfs cannot be mounted here (needs root / CAP_SYS_ADMIN): {done.stderr.strip()}")

    def fill() -> None:
        for name, block in (("filler", 65536), ("filler2", 1)):  # big blocks, then the last bytes
            with open(disk / name, "wb", buffering=0) as handle:
                try:
                    while True:
                        handle.write(b"\0" * block)
                except OSError:
                    pass

    try:
        yield disk, fill
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def _full_disk_refusal(argv: list[str], target: Path, capsys: pytest.CaptureFixture) -> None:
    old = target.read_bytes()
    assert main(argv) == 1
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("wekawbc: error: ")]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert f"{target}: cannot write: No space left on device" in lines[0], err
    assert target.read_bytes() == old  # the previous output is kept whole
    assert not list(target.parent.glob(f".{target.name}.*.tmp"))


def test_full_disk_evaluate_and_parse_json(tmp_path: Path, full_disk, capsys: pytest.CaptureFixture) -> None:
    from wekawbc.evaluation import evaluate

    disk, fill = full_disk
    preds = _write(tmp_path, "fold,actual,weight,p_a,p_b\n" + FOUR_ROWS)
    out = disk / "eval.json"
    assert main(["evaluate", str(preds), "--json", str(out)]) == 0
    weka = _write(tmp_path, evaluate(read_predictions_csv(preds)).weka_text(), "weka.txt")
    parsed = disk / "parsed.json"
    assert main(["parse", str(weka), "--json", str(parsed)]) == 0
    capsys.readouterr()
    fill()
    _full_disk_refusal(["evaluate", str(preds), "--json", str(out)], out, capsys)
    _full_disk_refusal(["parse", str(weka), "--json", str(parsed)], parsed, capsys)


def test_full_disk_extract_and_cnn_train(datasets: Path, tmp_path: Path, full_disk,
                                         capsys: pytest.CaptureFixture) -> None:
    import shutil

    disk, fill = full_disk
    data = tmp_path / "data"
    for label in ("lymphocyte", "neutrophil"):
        (data / label).mkdir(parents=True)
        for image in sorted((datasets / "pbc" / "images" / label).iterdir())[:3]:
            shutil.copyfile(image, data / label / image.name)
    arff, model = disk / "x.arff", disk / "m.pt"
    arff.write_text("old arff\n")
    model.write_bytes(b"old model")
    fill()
    _full_disk_refusal(["extract", str(data), "-o", str(arff)], arff, capsys)
    pytest.importorskip("torch")
    _full_disk_refusal(["cnn", "train", str(data), "--out", str(model), "--epochs", "1", "--image-size", "16",
                        "--threads", "1", "--quiet"], model, capsys)


def test_full_disk_report(tmp_path: Path, full_disk, capsys: pytest.CaptureFixture) -> None:
    from wekawbc.evaluation import evaluate
    from wekawbc.report.runfolder import write_run_folder

    disk, fill = full_disk
    run = write_run_folder(disk / "run", evaluate(read_predictions_csv(_write(tmp_path, "fold,actual,weight,p_a,p_b\n"
                                                                                        + FOUR_ROWS))),
                           n_bootstrap=0, plots=False)
    fill()
    _full_disk_refusal(["report", str(run), "--no-plots"], run / "report.md", capsys)


def test_full_disk_weka(jvm, tmp_path: Path, full_disk, capsys: pytest.CaptureFixture) -> None:
    disk, fill = full_disk
    rows = "\n".join(f"{i % 7},{(i * 3) % 5},{'ab'[i % 2]}" for i in range(40))
    arff = _write(tmp_path, f"@relation t\n@attribute x numeric\n@attribute y numeric\n@attribute class {{a,b}}\n"
                            f"@data\n{rows}\n", "t.arff")
    out = disk / "run.json"
    argv = ["weka", str(arff), "--classifier", "weka.classifiers.rules.ZeroR", "--folds", "2", "--json", str(out)]
    assert main(argv) == 0
    capsys.readouterr()
    fill()
    _full_disk_refusal(argv, out, capsys)


@pytest.mark.slow
def test_full_disk_run(jvm, tmp_path: Path, full_disk, capsys: pytest.CaptureFixture) -> None:
    from wekawbc.synthetic import scaled_counts, write_dataset

    disk, fill = full_disk
    cells = write_dataset(tmp_path / "cells", scaled_counts(0.04), seed=2)
    config = _write(tmp_path, f"""name = "full"
[[datasets]]
path = "{cells}"
[evaluation]
folds = 2
[[classifiers]]
weka = "weka.classifiers.rules.ZeroR"
[output]
reports = "{disk / 'reports'}"
arff = "{disk / 'arff'}"
cache = "{tmp_path / 'cache'}"
compare = ""
""", "full.toml")
    argv = ["run", str(config), "--no-progress"]
    assert main(argv) == 0
    capsys.readouterr()
    report = next((disk / "reports").rglob("report.md"))
    fill()
    old = report.read_bytes()
    assert main(argv) == 1
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("wekawbc: error: ")]
    assert len(lines) == 1 and "Traceback" not in err and ": cannot write: No space left on device" in lines[0], err
    assert lines[0].split(":")[2].strip().startswith(str(disk))  # names the file on the full disk
    assert report.read_bytes() == old


# ----- item 13: file names that are not UTF-8 ---------------------------------------------------------
def test_extract_handles_a_file_name_that_is_not_utf8(datasets: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture) -> None:
    import os
    import shutil

    folder = tmp_path / "data" / "lymphocyte"
    folder.mkdir(parents=True)
    odd = os.path.join(os.fsencode(folder), b"caf\xe9.bmp")  # Latin-1 bytes: not UTF-8
    shutil.copyfile(datasets / "jtsc" / "images" / "001.bmp", odd)
    shutil.copyfile(datasets / "jtsc" / "images" / "002.bmp", folder / "ok.bmp")
    arff, table, masks = tmp_path / "x.arff", tmp_path / "x.csv", tmp_path / "masks"
    assert main(["extract", str(tmp_path / "data"), "-o", str(arff), "--csv", str(table), "--masks-out",
                 str(masks)]) == 0
    capsys.readouterr()
    log = (tmp_path / "x.log.csv").read_bytes().decode("utf-8")  # every output stays valid UTF-8
    assert "caf\\udce9.bmp,ok" in log  # the name, escaped as Python shows it on stderr
    assert "caf\\udce9.bmp" in table.read_bytes().decode("utf-8")
    arff.read_bytes().decode("utf-8")
    assert os.path.exists(os.path.join(os.fsencode(masks), b"lymphocyte/caf\xe9.png"))  # a mask under the real name


# ----- item 19: the smaller ones ------------------------------------------------------------------------
def test_masks_out_keeps_the_relative_path(datasets: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import shutil

    import cv2

    data = tmp_path / "data"
    for label, source in (("neutrophil", "002.bmp"), ("lymphocyte", "001.bmp")):
        (data / label).mkdir(parents=True)
        shutil.copyfile(datasets / "jtsc" / "images" / source, data / label / "cell.bmp")
    masks = tmp_path / "masks"
    assert main(["extract", str(data), "-o", str(tmp_path / "x.arff"), "--masks-out", str(masks)]) == 0
    capsys.readouterr()
    written = sorted(p.relative_to(masks).as_posix() for p in masks.rglob("*.png"))
    assert written == ["lymphocyte/cell.png", "neutrophil/cell.png"]
    first, second = (cv2.imread(str(masks / name), cv2.IMREAD_UNCHANGED) for name in written)
    assert not np.array_equal(first, second)  # two masks, not one written twice


def test_float_tiff_in_0_1_is_read_with_its_levels(tmp_path: Path) -> None:
    import cv2
    from PIL import Image

    from wekawbc.cells.dataset import read_image

    rng = np.random.default_rng(0)
    grey = rng.random((30, 40)).astype(np.float32)
    Image.fromarray(grey, mode="F").save(tmp_path / "grey.tif")  # Pillow reads it (mode F)
    np.testing.assert_array_equal(read_image(tmp_path / "grey.tif")[..., 0], np.round(grey * 255.0).astype(np.uint8))
    colour = rng.random((30, 40, 3)).astype(np.float32)
    assert cv2.imwrite(str(tmp_path / "colour.tif"), colour)  # float RGB: OpenCV's fallback reads it
    expected = np.round(colour[..., ::-1].astype(np.float64) * 255).astype(np.uint8)  # BGR on disk
    np.testing.assert_array_equal(read_image(tmp_path / "colour.tif"), expected)


def test_labels_csv_duplicates(tmp_path: Path) -> None:
    from wekawbc.cells.dataset import load_dataset

    _png(tmp_path / "a.png")
    _png(tmp_path / "b.png")
    (tmp_path / "labels.csv").write_text("image,label,label\na.png,monocyte,lymphocyte\n")
    with pytest.raises(WekawbcError, match=r"labels.csv: duplicate column 'label'"):
        load_dataset(tmp_path)
    (tmp_path / "labels.csv").write_text("image,label\na.png,monocyte\nb.png,monocyte\n./a.png,lymphocyte\n")
    dataset = load_dataset(tmp_path)
    assert [r.image.name for r in dataset] == ["a.png", "b.png"]
    assert [str(p) for p in dataset.problems] == [f"{tmp_path / 'labels.csv'}:4 (./a.png): the same image as row 2; "
                                                  "left out (one image, one instance)"]


def test_extract_problem_lines_name_the_file(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import cv2

    data = tmp_path / "data" / "lymphocyte"
    data.mkdir(parents=True)
    cv2.imwrite(str(data / "blank.png"), np.full((100, 100, 3), 235, np.uint8))  # no leukocyte in it
    (data / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    assert main(["extract", str(tmp_path / "data"), "-o", str(tmp_path / "x.arff")]) == 3
    problems = [line for line in capsys.readouterr().err.splitlines() if line.startswith("wekawbc: ")]
    assert len(problems) == 2
    assert any(str(data / "blank.png") in line for line in problems)
    assert any(str(data / "broken.png") in line for line in problems)


def _bundled_paper() -> dict:
    from wekawbc.papers import _bundled_dir

    return json.loads((_bundled_dir() / "alkrimi2023.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("tamper, needle", [
    (lambda d: d["tables"].update({"Table 2": 1.5}), r"tables\['Table 2'\]: expected an object"),
    (lambda d: d["statements"].__setitem__(0, "text"), r"statements\[0\]: expected an object"),
    (lambda d: d["statements"][0].pop("group"), r"statements\[0\]: field 'group' is missing"),
    (lambda d: d["groups"].update({"granulocyte": 3}), r"groups\['granulocyte'\]: expected a list"),
    (lambda d: d["tasks"].update({"five": "x"}), r"tasks\['five'\]: expected an object"),
    (lambda d: d["tasks"]["five"].update({"printed_labels": [1, 2, 3, 4, 5]}), r"printed_labels"),
    (lambda d: next(v for v in d["values"] if v["metric"] == "confusion_count").update(value=2.2e-309, printed="0"),
     r"a confusion-matrix cell is a whole count"),
    (lambda d: next(v for v in d["values"] if v["metric"] == "per_class_accuracy").pop("class"),
     r"a 'per_class_accuracy' needs 'class'"),
    (lambda d: next(v for v in d["values"] if v["metric"] == "class_count").pop("subset"), None),
    (lambda d: d["groups"].update({"granulocyte": ["neutrophil"]}), None),
    (lambda d: next(v for v in d["values"] if v["metric"] == "unnamed").pop("task"), None),  # found by fuzzing
    (lambda d: d["tables"]["Table 1"].update(confusion_matrix=None), None),  # found by fuzzing
])
def test_tampered_paper_json(tmp_path: Path, capsys: pytest.CaptureFixture, tamper, needle: str | None) -> None:
    document = _bundled_paper()
    tamper(document)
    path = _write(tmp_path, json.dumps(document), "paper.json")
    if needle is None:  # still a valid paper: audited, not a traceback
        assert main(["audit", str(path), "--json"]) == 0
        json.loads(capsys.readouterr().out)
    else:
        _refused(["audit", str(path)], capsys, re.escape(str(path)), needle)


@pytest.fixture()
def run_dir(tmp_path: Path) -> Path:
    from wekawbc.evaluation import evaluate
    from wekawbc.report.runfolder import write_run_folder

    return write_run_folder(tmp_path / "run", evaluate(read_predictions_csv(_write(
        tmp_path, "fold,actual,weight,p_a,p_b\n" + FOUR_ROWS))), n_bootstrap=10, plots=False)


@pytest.mark.parametrize("tamper, needle", [
    (lambda r: r["evaluation"]["classes"][0].pop("mcc"), r"damaged run report: \['evaluation'\]\['classes'\]\[0\]"),
    (lambda r: r["evaluation"]["confusion_matrix"]["matrix"].pop(), r"confusion matrix is not one row"),
    (lambda r: r.update(dataset="x"), r"damaged run report: \['dataset'\]"),
    (lambda r: r["bootstrap"].pop("confidence"), r"damaged run report: \['bootstrap'\]"),
    (lambda r: r["bootstrap"]["metrics"]["recall"].update(a=[1]), r"damaged run report: \['bootstrap'\]"),
    (lambda r: r.pop("files"), r"damaged run report: the document: 'files' is a required property"),
    (lambda r: r["files"].update(weka_text="../preds.csv"), r"'files' names '../preds.csv', outside the run folder"),
    (lambda r: r["evaluation"]["summary"].update(kappa=float("nan")), r"cannot read: NaN is not a number JSON allows"),
])
def test_tampered_report_json(run_dir: Path, capsys: pytest.CaptureFixture, tamper, needle: str) -> None:
    report = json.loads((run_dir / "report.json").read_text())
    tamper(report)
    (run_dir / "report.json").write_text(json.dumps(report))
    _refused(["report", str(run_dir), "--no-plots"], capsys, re.escape(str(run_dir)), needle)
