"""Property tests (hypothesis) of two input surfaces: the TOML experiment configuration and ARFF
files read through Weka.

The property, for every generated input: a :class:`WekawbcError` with a one-line message, or a
result whose numbers are finite and consistent; never another exception (a traceback), never a
hang (Weka's reads run under the watchdog, which is set short here and counts as a failure).

The default run is bounded (a few seconds per surface); ``-m slow`` runs 10,000 examples per
surface (``WEKAWBC_FUZZ_EXAMPLES`` changes that number).
"""

from __future__ import annotations

import json
import math
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wekawbc._io import WekawbcError
from wekawbc.synthetic import scaled_counts, write_dataset

LONG = int(os.environ.get("WEKAWBC_FUZZ_EXAMPLES", "10000"))
_COMMON = dict(deadline=None, derandomize=False, suppress_health_check=list(HealthCheck), database=None)
QUICK = settings(max_examples=60, **_COMMON)
SLOW = settings(max_examples=LONG, **_COMMON)


def one_line_error(error: WekawbcError) -> None:
    message = str(error)
    assert message and "\n" not in message and "\r" not in message, repr(message)


# --- the TOML configuration ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cells(tmp_path_factory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("cells"), scaled_counts(0.02), seed=1)


_TEXT = st.sampled_from(["", ".", "..", "../../..", "/", "a/b", "x y", "pbc", "J48", "five", "binary", "both",
                         "none", "paper", "weights", "sampler", "class_balancer", "smote", "alkrimi2023",
                         "nosuchpaper", "crop", "field", "auto", "bogus", "\u00e9", "\x00", "weka.classifiers.trees.J48",
                         "weka.classifiers.misc.SerializedClassifier -model x", "neutrophil", "-1"]) | st.text(max_size=12)
_NUMBER = (st.integers(min_value=-2**70, max_value=2**70) | st.sampled_from([0, 1, 2, 10, 1000, 1001, 10**9])
           | st.floats(allow_nan=True, allow_infinity=True))
_SCALAR = _TEXT | _NUMBER | st.booleans()
_VALUE = st.recursive(_SCALAR, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
                      max_leaves=6)


def _table(keys: list[str]) -> st.SearchStrategy[dict]:
    """A table whose keys are mostly known ones (values of any type), sometimes unknown ones."""
    return st.dictionaries(st.sampled_from(keys) | _TEXT, _VALUE, max_size=len(keys) + 1)


@st.composite
def raw_configs(draw, data: Path) -> dict:
    raw: dict = draw(_table(["name", "seed"]))
    dataset = draw(_table(["name", "class_counts"]))
    dataset["path"] = draw(st.sampled_from([str(data), str(data / "missing"), "."]) | _TEXT)
    if draw(st.booleans()):
        dataset["class_counts"] = draw(st.dictionaries(st.sampled_from(["neutrophil", "lymphocyte", "platelet"]),
                                                       _NUMBER, max_size=3))
    raw["datasets"] = draw(st.lists(st.just(dataset) | _table(["name", "path"]), min_size=0, max_size=2))
    classifier = draw(_table(["name", "strategies", "repetitions", "allow_model_files"]))
    kind = draw(st.sampled_from(["weka", "cnn", "both", "neither"]))
    if kind in ("weka", "both"):
        classifier["weka"] = draw(st.sampled_from(["weka.classifiers.trees.J48", "weka.classifiers.rules.ZeroR -x"])
                                  | _TEXT)
    if kind in ("cnn", "both"):
        classifier["cnn"] = draw(_table(["epochs", "image_size", "learning_rate", "channels", "augmentation",
                                         "threads", "balance", "crop_fraction"]))
    raw["classifiers"] = draw(st.lists(st.just(classifier), min_size=0, max_size=2))
    for section, keys in (("evaluation", ["folds", "split", "repetitions", "seed", "baseline", "alpha"]),
                          ("task", ["tasks"]), ("imbalance", ["strategies"]), ("features", ["mode", "segmentation"]),
                          ("output", ["reports", "arff", "cache", "compare"])):
        if draw(st.booleans()):
            raw[section] = draw(_table(keys))
    return raw


def check_config(raw: dict, base: Path) -> None:
    from wekawbc.experiment.config import parse_config

    try:
        config = parse_config(raw, base, "fuzz.toml")
    except WekawbcError as error:
        one_line_error(error)
        return
    assert config.run_dir.resolve().is_relative_to(config.output.reports.resolve())
    evaluation = config.evaluation
    assert 1 <= evaluation.repetitions <= 1000 and len(evaluation.seeds()) == evaluation.repetitions
    assert math.isfinite(evaluation.alpha) and (evaluation.split is None or 0 < evaluation.split < 100)
    for spec in config.datasets:
        assert all(math.isfinite(v) and v >= 0 for v in (spec.class_counts or {}).values())
    json.dumps(config.to_dict(), default=str)


@QUICK
@given(data=st.data())
def test_config_dicts_quick(cells, tmp_path_factory, data):
    check_config(data.draw(raw_configs(cells)), cells)


@pytest.mark.slow
@SLOW
@given(data=st.data())
def test_config_dicts_long(cells, data):
    check_config(data.draw(raw_configs(cells)), cells)


def _valid_toml(cells: Path) -> str:
    return (f'name = "x"\nseed = 1\n[[datasets]]\nname = "cells"\npath = "{cells}"\nclass_counts = "paper"\n'
            '[task]\ntasks = "both"\n[evaluation]\nfolds = 5\nrepetitions = 2\nalpha = 0.05\n'
            '[[classifiers]]\nweka = "weka.classifiers.trees.J48 -C 0.25"\nstrategies = ["none"]\n'
            '[[classifiers]]\ncnn = { epochs = 2, image_size = 32 }\nstrategies = ["weights"]\n'
            '[output]\nreports = "reports"\ncompare = ""\n')


_TOML_BITS = st.sampled_from(["=", '"', "'", "[", "]", "[[", "]]", "{", "}", ",", "\n", "#", "\\", "..", "nan", "inf",
                              "-", "1e999", "0x", "\x00", "\xff", "\u00e9", " ", "true", "tasks", "name"])


@st.composite
def mutated_bytes(draw, base: str, bits: st.SearchStrategy[str]) -> bytes:
    """``base`` with a few random cuts, insertions, deletions and line swaps (bytes, maybe not UTF-8)."""
    text = base.encode("utf-8")
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["cut", "insert", "delete", "swap", "raw"]))
        if action == "cut":
            text = text[:at]
        elif action == "insert":
            text = text[:at] + draw(bits).encode("utf-8") + text[at:]
        elif action == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 20)):]
        elif action == "swap":
            lines = text.split(b"\n")
            i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
            text = b"\n".join(lines)
        else:
            text = text[:at] + draw(st.binary(min_size=1, max_size=3)) + text[at:]
    return text


def check_config_file(text: bytes, folder: Path) -> None:
    from wekawbc.experiment.config import load_config

    path = folder / "fuzz.toml"
    path.write_bytes(text)
    try:
        config = load_config(path)
    except WekawbcError as error:
        one_line_error(error)
        return
    assert config.run_dir.resolve().is_relative_to(config.output.reports.resolve())


@QUICK
@given(data=st.data())
def test_config_files_quick(cells, tmp_path, data):
    check_config_file(data.draw(mutated_bytes(_valid_toml(cells), _TOML_BITS)), tmp_path)


@pytest.mark.slow
@SLOW
@given(data=st.data())
def test_config_files_long(cells, tmp_path, data):
    check_config_file(data.draw(mutated_bytes(_valid_toml(cells), _TOML_BITS)), tmp_path)


# --- ARFF files read through Weka ------------------------------------------------------------------------------------

_ARFF = """% a comment
@relation 'cells test'
@attribute area numeric
@attribute 'shape name' {round,'lobed x',"dark"}
@attribute note string
@attribute seen date "yyyy-MM-dd"
@attribute class {neutrophil,lymphocyte,basophil}
@data
1.5,round,'a b',"2020-01-02",neutrophil
2.25,'lobed x',b,2021-03-04,lymphocyte,{2}
?,dark,?,?,basophil
-3e2,round,"q,r",2020-01-02,neutrophil,{0.5}
{0 4.5,4 lymphocyte}
7,dark,z,2020-01-02,lymphocyte
"""
_ARFF_BITS = st.sampled_from(["{", "}", ",", "'", '"', "%", "@attribute", "@data", "@relation", "@ATTRIBUTE x numeric",
                              "\n", "\r", "\r\n", "?", "\\", " ", "\t", "0", "9", "1e400", "-", "NaN", "Infinity", "{-1}",
                              "{1e400}", "\x00", "\xff", "\u00e9", "numeric", "string", "date", "relational", "@end",
                              "real", "integer", "{}", "''", "neutrophil"])


def check_arff(text: bytes, folder: Path) -> None:
    from wekawbc.weka import load_instances, run_classifier
    from wekawbc.weka.run import SmallClassWarning

    path = folder / "fuzz.arff"
    path.write_bytes(text)
    try:
        data = load_instances(path)
    except WekawbcError as error:
        one_line_error(error)
        assert "did not finish reading" not in str(error), f"Weka hung on {text!r}"
        return
    java = data.jobject
    assert java.classAttribute().isNominal() and java.numAttributes() >= 1
    weights = np.array([java.instance(i).weight() for i in range(java.numInstances())])
    assert np.all(np.isfinite(weights) & (weights >= 0))
    if java.numInstances() < 2:
        return
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SmallClassWarning)  # a mutation can leave a class one instance
            run = run_classifier(data, "weka.classifiers.rules.ZeroR", folds=2)
    except WekawbcError as error:
        one_line_error(error)
        return
    predictions = run.predictions
    assert np.all(np.isfinite(predictions.distribution)) and np.all(np.isfinite(predictions.weight))
    assert np.allclose(predictions.distribution.sum(axis=1), 1.0)
    assert len(predictions.actual) == java.numInstances()


@pytest.fixture(scope="module")
def short_watchdog(jvm):
    previous = os.environ.get("WEKAWBC_READ_TIMEOUT")
    os.environ["WEKAWBC_READ_TIMEOUT"] = "20"
    yield
    if previous is None:
        del os.environ["WEKAWBC_READ_TIMEOUT"]
    else:
        os.environ["WEKAWBC_READ_TIMEOUT"] = previous


def test_the_base_arff_is_valid(tmp_path, short_watchdog):
    from wekawbc.weka import load_instances

    path = tmp_path / "base.arff"
    path.write_text(_ARFF)
    assert load_instances(path).jobject.numInstances() == 6


@QUICK
@given(data=st.data())
def test_arff_through_weka_quick(tmp_path, short_watchdog, data):
    check_arff(data.draw(mutated_bytes(_ARFF, _ARFF_BITS)), tmp_path)


@pytest.mark.slow
@SLOW
@given(data=st.data())
def test_arff_through_weka_long(tmp_path, short_watchdog, data):
    check_arff(data.draw(mutated_bytes(_ARFF, _ARFF_BITS)), tmp_path)
