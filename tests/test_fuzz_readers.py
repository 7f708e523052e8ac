"""Property tests (hypothesis) for every reader of user files (issue 15).

The property, for each surface: a generated or mutated input ends either in a clean refusal (the
command line: exit 1 and exactly one ``wekawbc: error:`` line naming the file; the Python API: a
:class:`~wekawbc.WekawbcError`) or in a result whose numbers are finite and consistent. Never a
traceback, never a silent wrong number.

The default run tries a few dozen inputs per surface (a few seconds each); ``-m slow`` runs
:data:`LONG_EXAMPLES` per surface (``WEKAWBC_FUZZ_EXAMPLES=N`` sets another number). With
``WEKAWBC_FUZZ_RESULTS=FILE`` set, each test adds its counts (inputs tried, refused, accepted,
seconds, and whether the run completed) to that JSON file as it goes: docs/reliability.md
records them.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wekawbc._io import WekawbcError
from wekawbc.cli import main

SHORT_EXAMPLES = 40
LONG_EXAMPLES = int(os.environ.get("WEKAWBC_FUZZ_EXAMPLES", 10_000))
_RESULTS_ENV = "WEKAWBC_FUZZ_RESULTS"
_SAVE_EVERY = 100


# ----- the harness -----------------------------------------------------------------------------------
class _Tally:
    """Counts of one surface's run, added to the results file when one is named."""

    def __init__(self, surface: str, max_examples: int) -> None:
        self.surface, self.max_examples = surface, max_examples
        self.tried = self.refused = self.accepted = 0
        self.started = time.perf_counter()

    def record(self, refused: bool) -> None:
        self.tried += 1
        self.refused += refused
        self.accepted += not refused
        if self.tried % _SAVE_EVERY == 0:
            self.save(complete=False)

    def save(self, complete: bool = True) -> None:
        target = os.environ.get(_RESULTS_ENV)
        if not target:
            return
        path = Path(target)
        results = json.loads(path.read_text()) if path.is_file() else {}
        results[self.surface] = {"max_examples": self.max_examples, "inputs_tried": self.tried,
                                 "refused_with_one_line_error": self.refused, "accepted_and_checked": self.accepted,
                                 "tracebacks": 0, "seconds": round(time.perf_counter() - self.started, 1),
                                 "complete": complete}
        path.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")


def _fuzz(surface: str, strategy: st.SearchStrategy, check: Callable[[Any, Path], bool], max_examples: int) -> None:
    """Run ``check(example, folder)`` on generated examples; it returns True for a clean refusal."""
    tally = _Tally(surface, max_examples)
    with tempfile.TemporaryDirectory() as folder:
        @settings(max_examples=max_examples, deadline=None, database=None, derandomize=max_examples <= SHORT_EXAMPLES,
                  suppress_health_check=list(HealthCheck))
        @given(strategy)
        def run(example: Any) -> None:
            tally.record(check(example, Path(folder)))

        run()
    tally.save()


def _cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def _clean_refusal(code: int, err: str, path: Path) -> bool:
    """True for exit 1 with one ``wekawbc: error:`` line naming ``path``; False for exit 0."""
    if code == 0:
        return False
    lines = err.splitlines()
    assert code == 1 and len(lines) == 1 and lines[0].startswith("wekawbc: error: "), (code, err)
    assert str(path) in lines[0], err
    return True


def _finite_json(value: Any) -> None:
    """Every number of a JSON document is finite (undefined values are null)."""
    if isinstance(value, dict):
        for item in value.values():
            _finite_json(item)
    elif isinstance(value, list):
        for item in value:
            _finite_json(item)
    elif isinstance(value, float):
        assert math.isfinite(value), value


# ----- cells: numbers and words the readers meet --------------------------------------------------------
_NUMBER_TEXT = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-3, 12).map(str),
    st.sampled_from(["", " ", "nan", "NaN", "inf", "-inf", "Infinity", "1e19", "1e10", "-0", "0.5", "1.0005",
                     "1e300", "1e-320", "0x10", "1_000", "١", "True", "?", "1,5"]),
)
_LABELS = st.sampled_from(["a", "b", "c", " a", "a ", "", "A"])


def _mutate_cells(draw, rows: list[list[str]]) -> None:
    """Replace 0-2 cells (the header included) by hostile text."""
    for _ in range(draw(st.sampled_from([0, 0, 1, 2]))):
        row = draw(st.sampled_from(rows))
        if row:
            row[draw(st.integers(0, len(row) - 1))] = draw(st.one_of(_NUMBER_TEXT, st.sampled_from(
                ["Weight", "Fold", "p_a", "actual", "id", "x"])))


@st.composite
def _predictions_csv(draw) -> str:
    """A predictions CSV: well formed, then up to two cells made hostile, sometimes a row cut short."""
    labels = draw(st.lists(st.sampled_from(["a", "b", "c", "a b", "é"]), min_size=1, max_size=3, unique=True))
    columns = draw(st.sets(st.sampled_from(["fold", "weight", "id"])))
    header = draw(st.permutations(["actual", *columns, *(f"p_{x}" for x in labels)]))
    n_rows = draw(st.integers(1, 8))
    folds = draw(st.integers(1, n_rows))
    rows = [header]
    for i in range(n_rows):
        scores = draw(st.lists(st.floats(0, 1), min_size=len(labels), max_size=len(labels)))
        total = sum(scores)
        probability = iter([x / total if total > 0 else 0.0 for x in scores])
        cells = {"fold": str(i % folds), "weight": repr(draw(st.floats(0, 1e6))), "id": f"img{i}",
                 "actual": draw(st.sampled_from([*labels, ""]))}
        rows.append([cells[name] if name in cells else repr(next(probability)) for name in header])
    _mutate_cells(draw, rows)
    if draw(st.integers(0, 9)) == 0:
        rows[-1] = rows[-1][:-1]  # a short row
    bom = "\ufeff" if draw(st.booleans()) else ""
    return bom + "\n".join(",".join(row) for row in rows) + "\n"


@st.composite
def _valid_predictions_csv(draw) -> str:
    """Well-formed predictions (the train-counts surface needs them to get that far)."""
    n = draw(st.integers(2, 8))
    rows = []
    for i in range(n):
        p = draw(st.floats(0, 1))
        rows.append(f"{i % 2},{'ab'[i % 2]},1,{p!r},{1 - p!r}")
    return "fold,actual,weight,p_a,p_b\n" + "\n".join(rows) + "\n"


def _check_predictions(text: str, folder: Path) -> bool:
    path = folder / "preds.csv"
    path.write_text(text, encoding="utf-8")
    out_json = folder / "out.json"
    with contextlib.suppress(FileNotFoundError):
        out_json.unlink()
    code, out, err = _cli(["evaluate", str(path), "--imbalance", "--json", str(out_json)])
    if _clean_refusal(code, err, path):
        return True
    assert not re.search(r"Infinity|\binf\b", out), out
    document = json.loads(out_json.read_text())
    _finite_json(document)
    summary = document["evaluation"]["summary"]
    counted = sum(summary.get(key) or 0 for key in ("correct", "incorrect", "unclassified"))
    assert math.isclose(counted, summary["total_instances"], rel_tol=1e-9, abs_tol=1e-9), summary
    return False


@st.composite
def _counts_case(draw) -> tuple[str, str]:
    """Valid predictions (two folds) and a counts CSV: well formed, then up to two cells made hostile."""
    predictions = draw(_valid_predictions_csv())
    header = draw(st.sampled_from(["fold,a,b"] * 8 + ["fold,b,a", "fold,a", "fold,a,b,c", "Fold,a,b", "fold,a,a"]))
    n_folds = draw(st.sampled_from([2, 2, 2, 1, 3]))
    order = draw(st.permutations(range(n_folds)))
    rows = [header.split(",")] + [[str(f), *(repr(draw(st.floats(0, 1e6))) for _ in header.split(",")[1:])]
                                  for f in order]
    _mutate_cells(draw, rows)
    return predictions, "\n".join(",".join(row) for row in rows) + "\n"


def _check_counts(case: tuple[str, str], folder: Path) -> bool:
    predictions, counts = case
    (folder / "counts.csv").write_text(counts)
    (folder / "preds.csv").write_text(predictions)
    code, out, err = _cli(["evaluate", str(folder / "preds.csv"), "--train-counts", str(folder / "counts.csv")])
    if _clean_refusal(code, err, folder / "counts.csv"):
        return True
    assert "Infinity" not in out and "NaN" not in out, out
    return False


def test_fuzz_predictions_csv() -> None:
    _fuzz("predictions_csv", _predictions_csv(), _check_predictions, SHORT_EXAMPLES)


def test_fuzz_train_counts_csv() -> None:
    _fuzz("train_counts_csv", _counts_case(), _check_counts, SHORT_EXAMPLES)


@pytest.mark.slow
def test_fuzz_predictions_csv_long() -> None:
    _fuzz("predictions_csv", _predictions_csv(), _check_predictions, LONG_EXAMPLES)


@pytest.mark.slow
def test_fuzz_train_counts_csv_long() -> None:
    _fuzz("train_counts_csv", _counts_case(), _check_counts, LONG_EXAMPLES)


# ----- JSON documents: mutations of a real one -------------------------------------------------------
_JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20),
                       st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=6),
                       # fresh containers each time: a shared one would be mutated across inputs
                       st.sampled_from([[], {}, [1, "x"], {"x": 1}]).map(copy.deepcopy))


def _paths(document: Any, prefix: tuple = ()) -> list[tuple]:
    """Every location in a JSON document (keys of objects, indices of arrays)."""
    found = [prefix]
    if isinstance(document, dict):
        for key, value in document.items():
            found += _paths(value, prefix + (key,))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found += _paths(value, prefix + (index,))
    return found


@st.composite
def _mutations(draw, original: Any) -> Any:
    """``original`` with 1-3 locations deleted, replaced by another JSON value, or their type changed."""
    document = copy.deepcopy(original)
    for _ in range(draw(st.integers(1, 3))):
        locations = [p for p in _paths(document) if p]
        if not locations:
            break
        where = draw(st.sampled_from(locations))
        parent = document
        for step in where[:-1]:
            parent = parent[step]
        kind = draw(st.sampled_from(["delete", "replace", "stringify", "nan"]))
        if kind == "delete":
            del parent[where[-1]]
        elif kind == "replace":
            parent[where[-1]] = draw(_JSON_LEAF)
        elif kind == "stringify":
            parent[where[-1]] = str(parent[where[-1]])
        else:
            parent[where[-1]] = draw(st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -1]))
    return document


def _dump(document: Any) -> str:
    return json.dumps(document, allow_nan=True)  # NaN and Infinity too: Python's json module reads them


def _paper_document() -> dict:
    from wekawbc.papers import _bundled_dir

    return json.loads((_bundled_dir() / "alkrimi2023.json").read_text(encoding="utf-8"))


def _check_paper(document: Any, folder: Path) -> bool:
    path = folder / "paper.json"
    path.write_text(_dump(document))
    code, out, err = _cli(["audit", str(path), "--json"])
    if _clean_refusal(code, err, path):
        return True
    _finite_json(json.loads(out))
    return False


def test_fuzz_paper_json() -> None:
    _fuzz("paper_json", _mutations(_paper_document()), _check_paper, SHORT_EXAMPLES)


@pytest.mark.slow
def test_fuzz_paper_json_long() -> None:
    _fuzz("paper_json", _mutations(_paper_document()), _check_paper, LONG_EXAMPLES)


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    from wekawbc.evaluation import evaluate
    from wekawbc.predictions import Predictions
    from wekawbc.report.runfolder import write_run_folder

    rng = np.random.default_rng(0)
    actual = np.arange(24) % 3
    predictions = Predictions(("a", "b", "c"), actual, rng.dirichlet(np.ones(3), 24), fold=np.arange(24) % 3)
    path = write_run_folder(tmp_path_factory.mktemp("fuzz_run") / "run", evaluate(predictions), n_bootstrap=20,
                            plots=False, settings={"seed": 1})
    return path, json.loads((path / "report.json").read_text())


def _report_check(run: Path) -> Callable[[Any, Path], bool]:
    """Re-render the tampered run folder, then compare it with the untouched one."""
    def check(document: Any, folder: Path) -> bool:
        target = folder / "run"
        if not target.is_dir():
            import shutil

            shutil.copytree(run, target)
        (target / "report.json").write_text(_dump(document))
        code, out, err = _cli(["report", str(target), "--no-plots"])
        if _clean_refusal(code, err, target):
            return True
        code, out, err = _cli(["report", str(target), str(run), "--json"])
        if _clean_refusal(code, err, target):
            return True
        _finite_json(json.loads(out))
        return False
    return check


def test_fuzz_report_json(run_folder: tuple[Path, dict]) -> None:
    path, document = run_folder
    _fuzz("report_json", _mutations(document), _report_check(path), SHORT_EXAMPLES)


@pytest.mark.slow
def test_fuzz_report_json_long(run_folder: tuple[Path, dict]) -> None:
    path, document = run_folder
    _fuzz("report_json", _mutations(document), _report_check(path), LONG_EXAMPLES)


# ----- the CNN model file ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def model_payload(tmp_path_factory: pytest.TempPathFactory) -> dict:
    torch = pytest.importorskip("torch")
    from wekawbc.cells.dataset import CLASSES
    from wekawbc.cnn.images import Preprocessing
    from wekawbc.cnn.model_file import save_model
    from wekawbc.cnn.network import CellNet
    from wekawbc.cnn.training import TrainedCnn, TrainSettings

    torch.manual_seed(0)
    settings_ = TrainSettings(epochs=1, image_size=16, channels=(4, 8))
    network = CellNet(len(CLASSES), settings_.channels, settings_.dropout).eval()
    model = TrainedCnn(network, CLASSES, Preprocessing(16, 0.7), settings_, [], 1, "fuzz", [1] * 5)
    path = save_model(model, tmp_path_factory.mktemp("fuzz_model") / "model.pt")
    return torch.load(path, map_location="cpu", weights_only=True)


_TENSOR_EDITS = ["nan", "inf", "scale", "shape", "int", "negative"]


@st.composite
def _model_mutations(draw, payload: dict) -> tuple[dict, list[tuple]]:
    """Plain-value mutations of the payload (as JSON) plus edits of some weight tensors."""
    import torch

    state = payload["state_dict"]
    plain = {key: value for key, value in payload.items() if key != "state_dict"}
    mutated = draw(_mutations(plain)) if draw(st.booleans()) else copy.deepcopy(plain)
    edits = draw(st.lists(st.tuples(st.sampled_from(sorted(state)), st.sampled_from(_TENSOR_EDITS)), max_size=2))
    new_state = {key: value.clone() for key, value in state.items()}
    for key, edit in edits:
        tensor = new_state[key]
        if edit == "nan" and tensor.is_floating_point():
            tensor.view(-1)[0] = math.nan
        elif edit == "inf" and tensor.is_floating_point():
            tensor.view(-1)[0] = math.inf
        elif edit == "scale" and tensor.is_floating_point():
            new_state[key] = tensor * 1e30
        elif edit == "shape":
            new_state[key] = torch.zeros(tensor.numel() + 1)
        elif edit == "int":
            new_state[key] = tensor.to(torch.int64)
        elif edit == "negative" and tensor.is_floating_point():
            new_state[key] = -tensor.abs() - 1
    if isinstance(mutated, dict) and draw(st.integers(0, 9)):
        mutated["state_dict"] = new_state
    return mutated, edits


def _check_model(case: tuple[dict, list], folder: Path) -> bool:
    import torch

    from wekawbc.cnn.model_file import load_model
    from wekawbc.cnn.training import predict_proba

    payload, _ = case
    path = folder / "model.pt"
    torch.save(payload, path)
    try:
        model, _ = load_model(path)
    except WekawbcError as error:
        assert str(path) in str(error) and "\n" not in str(error), error
        return True
    size = model.preprocessing.image_size
    crops = np.full((2, size, size, 3), 128, np.uint8)
    probabilities = predict_proba(model, crops, threads=1)
    if not np.isfinite(probabilities).all():
        return True  # 'cnn predict' refuses these (tested in test_hostile_inputs); the API returns them
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-9)
    return False


def test_fuzz_model_file(model_payload: dict) -> None:
    _fuzz("cnn_model_file", _model_mutations(model_payload), _check_model, SHORT_EXAMPLES)


@pytest.mark.slow
def test_fuzz_model_file_long(model_payload: dict) -> None:
    _fuzz("cnn_model_file", _model_mutations(model_payload), _check_model, LONG_EXAMPLES)


# ----- labels.csv ---------------------------------------------------------------------------------------
_IMAGE_NAMES = st.sampled_from(["a.png", "images/b.png", "./a.png", "../outside.png", "/etc/hostname", "", " ",
                                "missing.png", "link.png", "sub", "a.png/", "images", "c.txt", "%2e%2e/x",
                                "IMAGES/b.png", "a.png\x00", "images/../a.png"])
_LABEL_CELLS = st.sampled_from(["neutrophil", "Lymphocytes", "MONO", "platelet", "", "?", "nan", "eos", " ba ", "x"])


@st.composite
def _labels_csv(draw) -> str:
    header = draw(st.sampled_from(["image,label", "image,label,mask", "image", "label,image", "image,label,label",
                                   "Image,label", "image,label,extra", "", "image,,label"]))
    rows = []
    for _ in range(draw(st.integers(0, 6))):
        cells = []
        for name in header.split(","):
            cells.append(draw(_IMAGE_NAMES) if name in ("image", "mask", "Image") else draw(_LABEL_CELLS))
        rows.append(",".join(f'"{c}"' if "," in c or '"' in c else c for c in cells))
    return header + "\n" + "\n".join(rows) + "\n"


def _labels_folder(folder: Path) -> Path:
    from PIL import Image

    data = folder / "data"
    if not data.is_dir():
        (data / "images").mkdir(parents=True)
        Image.new("RGB", (8, 8)).save(data / "a.png")
        Image.new("RGB", (8, 8)).save(data / "images" / "b.png")
        (data / "sub").mkdir()
        (data / "c.txt").write_text("not an image")
        Image.new("RGB", (8, 8)).save(folder / "outside.png")
        (data / "link.png").symlink_to(folder / "outside.png")
    return data


def _check_labels(text: str, folder: Path) -> bool:
    from wekawbc.cells.dataset import CLASSES, load_dataset

    data = _labels_folder(folder)
    (data / "labels.csv").write_text(text)
    try:
        dataset = load_dataset(data)
    except WekawbcError as error:
        assert str(data) in str(error) and "\n" not in str(error), error
        return True
    root = data.resolve()
    for record in dataset:
        assert record.image.resolve().is_relative_to(root) and record.image.is_file(), record
        assert record.label is None or record.label in CLASSES
    images = [r.image.resolve() for r in dataset]
    assert len(images) == len(set(images))  # one image, one instance
    data_rows = sum(1 for line in text.splitlines()[1:] if line)
    assert len(dataset) + sum("mask" not in p.reason for p in dataset.problems) == data_rows  # every row accounted
    return False


def test_fuzz_labels_csv() -> None:
    _fuzz("labels_csv", _labels_csv(), _check_labels, SHORT_EXAMPLES)


@pytest.mark.slow
def test_fuzz_labels_csv_long() -> None:
    _fuzz("labels_csv", _labels_csv(), _check_labels, LONG_EXAMPLES)


def test_the_harness_catches_a_traceback() -> None:
    """The property is not vacuous: a reader that raises anything but WekawbcError fails the run."""
    def crashing(text: str, folder: Path) -> bool:
        raise ValueError(text)

    with pytest.raises(ValueError):
        _fuzz("none", st.just("x"), crashing, 1)
