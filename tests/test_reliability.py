"""Hostile input and hard faults (issue 15): path policy, watchdog, signals, limits, failure accounting.

Each test reproduces one finding of the fault-injection campaign through the real command line (a
subprocess running the real JVM and Weka) or the real function, and checks the one-line error, the
exit code and that nothing was written where it must not be.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from wekawbc._io import WekawbcError
from wekawbc.paths import inside, slug
from wekawbc.synthetic import scaled_counts, write_dataset

REPO_ROOT = Path(__file__).resolve().parent.parent


def wekawbc(*args, cwd: Path | None = None, timeout: float = 300, **env: str) -> subprocess.CompletedProcess:
    """``python -m wekawbc ARGS`` in a fresh process (this checkout first on the path)."""
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT), **env}
    return subprocess.run([sys.executable, "-m", "wekawbc", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=environment, timeout=timeout)


def one_error_line(result: subprocess.CompletedProcess) -> str:
    """The single ``wekawbc: error:`` line of a failed command (no traceback, nothing else)."""
    assert result.returncode != 0, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("wekawbc: error: "), result.stderr
    return lines[0]


def tree(folder: Path) -> list[Path]:
    return sorted(p.relative_to(folder) for p in folder.rglob("*"))


@pytest.fixture(scope="module")
def cells(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("cells"), scaled_counts(0.05), seed=3)


# --- item 4 and the path policy --------------------------------------------------------------------------------

def test_slug_keeps_plain_names_and_refuses_empty_ones():
    assert slug("pbc") == "pbc" and slug("J48+class_balancer") == "J48+class_balancer"
    assert slug("my data/../x") == "my_data_.._x" and slug("../etc") == "_etc"
    assert slug(".hidden") == "hidden"
    long = slug("x" * 300)
    assert len(long) == 100 and long != slug("x" * 301)
    for text in ("", ".", "..", "../../..", "///"):
        with pytest.raises(WekawbcError, match="no letters or digits"):
            slug(text, "data set name")


def test_inside_refuses_paths_that_leave_their_folder(tmp_path):
    assert inside(tmp_path, "a/b.csv") == tmp_path / "a" / "b.csv"
    with pytest.raises(WekawbcError, match="would be written outside"):
        inside(tmp_path / "reports", "../x")
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "link").symlink_to(tmp_path)
    with pytest.raises(WekawbcError, match="would be written outside"):
        inside(tmp_path / "reports", "link/x")


@pytest.mark.parametrize("dataset_name, experiment_name, key", [
    ("../../..", "x", "datasets[0].name"),
    ("pbc", "..", "'name'"),
])
def test_config_names_cannot_write_outside_the_output_folders(cells, tmp_path, dataset_name, experiment_name, key):
    """Item 4: a data set named '../../..' or an experiment named '..' is refused before any work."""
    work = tmp_path / "work"
    (work / "cfg").mkdir(parents=True)
    config = work / "cfg" / "x.toml"
    config.write_text(f"""name = "{experiment_name}"
[[datasets]]
name = "{dataset_name}"
path = "{cells}"
[evaluation]
folds = 2
[[classifiers]]
weka = "weka.classifiers.rules.ZeroR"
[output]
reports = "out/reports"
arff = "out/arff"
cache = "out/reports/.cache"
compare = ""
""")
    before = tree(tmp_path)
    line = one_error_line(wekawbc("run", config, "--no-progress", cwd=work))
    assert key in line and "no letters or digits" in line, line
    assert tree(tmp_path) == before


def test_config_names_are_slugged_inside_the_folders(cells, tmp_path):
    from wekawbc.experiment.config import parse_config
    from wekawbc.experiment.runner import _Unit

    config = parse_config({"name": "my run", "datasets": [{"name": "a/../b c", "path": str(cells)}],
                           "classifiers": [{"weka": "weka.classifiers.rules.ZeroR", "name": "Zero R/.."}],
                           "output": {"reports": str(tmp_path / "reports")}})
    assert config.run_dir == tmp_path / "reports" / "my_run"
    classifier, strategy = config.schemes()[0]
    unit = _Unit(config.datasets[0].name, "five", classifier, strategy, 1, 1)
    assert unit.folder(config.run_dir) == config.run_dir / "grid" / "a_.._b_c" / "five" / "Zero_R_.." / "rep01"
    with pytest.raises(WekawbcError, match=r"datasets.*names repeat after making file names"):
        parse_config({"datasets": [{"name": "a b", "path": str(cells)}, {"name": "a/b", "path": str(cells)}],
                      "classifiers": [{"weka": "weka.classifiers.rules.ZeroR"}]})


# --- item 2: Weka's ArffLoader hang, and the watchdog around every Weka read of a user file ------------------------

HEADER = "@relation r\n@attribute a numeric\n@attribute class {x,y}\n"
ROWS = "".join(f"{i % 7}.5,{'xy'[i % 2]}\n" for i in range(40))


@pytest.mark.parametrize("text", [
    "@relation r\n@attribute a numeric",
    HEADER.rstrip("\n"),
    "@relation r\n@attribute s string",
])
def test_arff_ending_in_an_attribute_line_without_newline_does_not_hang(tmp_path, text):
    """Item 2: Weka's ArffLoader loops forever at EOF after an @attribute line; now Weka's own error."""
    data = tmp_path / "cut.arff"
    data.write_text(text)
    line = one_error_line(wekawbc("weka", data, "--classifier", "weka.classifiers.rules.ZeroR", timeout=60))
    assert line.startswith(f"wekawbc: error: {data}: not a valid ARFF file: ") and "premature end of file" in line


def test_data_ending_without_newline_reads_as_with_one(tmp_path, jvm):
    from wekawbc.weka import load_instances

    with_newline, without = tmp_path / "a.arff", tmp_path / "b.arff"
    with_newline.write_text(HEADER + "@data\n" + ROWS)
    without.write_text(HEADER + "@data\n" + ROWS.rstrip("\n"))
    assert str(load_instances(without).jobject) == str(load_instances(with_newline).jobject)


def test_watchdog_turns_a_weka_read_that_never_ends_into_an_error(tmp_path):
    """A named pipe whose writer never writes makes Weka's reader block for good: the watchdog ends it."""
    fifo = tmp_path / "never.arff"
    os.mkfifo(fifo)
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "WEKAWBC_READ_TIMEOUT": "3"}
    process = subprocess.Popen([sys.executable, "-m", "wekawbc", "weka", str(fifo), "--classifier",
                                "weka.classifiers.rules.ZeroR"], stderr=subprocess.PIPE, text=True, env=environment)
    writer = os.open(fifo, os.O_WRONLY)  # held open and silent: the reader waits for bytes that never come
    try:
        _, stderr = process.communicate(timeout=120)
    finally:
        os.close(writer)
        process.kill()
    assert process.returncode == 1
    assert stderr.strip() == f"wekawbc: error: {fifo}: Weka did not finish reading it within 3 s"


# --- item 7: SIGINT and SIGTERM while the JVM works ---------------------------------------------------------------

INTERRUPTED = "wekawbc: interrupted; finished outputs are kept, partial ones were removed"


def _jvm_loaded(pid: int) -> bool:
    try:
        return "libjvm" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def _signal_when(process: subprocess.Popen, ready, signum: int, settle: float = 2.0, limit: float = 240) -> None:
    """Send ``signum`` once ``ready()`` holds (and ``settle`` seconds more, so Java is busy)."""
    import time

    deadline = time.monotonic() + limit
    while not ready() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)
    assert process.poll() is None, process.communicate()
    time.sleep(settle)
    process.send_signal(signum)


def _default_sigint() -> None:
    # A test run started in the background inherits SIGINT ignored, and wekawbc keeps an ignored
    # SIGINT ignored; the command under test gets the terminal's default back.
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _no_debris(folder: Path) -> None:
    assert not list(folder.rglob("hs_err_pid*")), "a JVM crash dump was written"
    assert not list(folder.rglob(".*.tmp")), "a temporary file was left behind"


@pytest.mark.parametrize("signum", [2, 15], ids=["SIGINT", "SIGTERM"])
def test_weka_interrupted_while_java_trains(tmp_path, signum):
    data = tmp_path / "d.arff"
    rows = "".join(f"{i % 13},{(i * 7) % 11},{'xyz'[i % 3]}\n" for i in range(300))
    data.write_text("@relation r\n@attribute a numeric\n@attribute b numeric\n@attribute class {x,y,z}\n@data\n" + rows)
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "wekawbc", "weka", str(data), "--classifier",
         "weka.classifiers.functions.MultilayerPerceptron -N 1000000 -H 40", "--predictions", "out/p.csv",
         "--json", "out/run.json"], cwd=tmp_path, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, preexec_fn=_default_sigint)
    try:
        _signal_when(process, lambda: _jvm_loaded(process.pid), signum, settle=4.0)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    assert stderr.strip() == INTERRUPTED and stdout == ""
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())
    _no_debris(tmp_path)


@pytest.mark.parametrize("signum", [2, 15], ids=["SIGINT", "SIGTERM"])
def test_run_interrupted_keeps_finished_work(cells, tmp_path, signum):
    config = tmp_path / "x.toml"
    config.write_text(f"""name = "x"
[[datasets]]
name = "cells"
path = "{cells}"
[evaluation]
folds = 2
[[classifiers]]
weka = "weka.classifiers.functions.MultilayerPerceptron -N 1000000 -H 40"
[output]
reports = "reports"
arff = "arff"
compare = ""
""")
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "wekawbc", "run", str(config), "--no-progress"], cwd=tmp_path,
                               env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=_default_sigint)
    arff = tmp_path / "arff" / "x-cells-five.arff"
    try:
        _signal_when(process, arff.is_file, signum)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == INTERRUPTED and "Traceback" not in stderr, stderr
    assert arff.is_file() and list((tmp_path / "reports" / ".cache").glob("features-cells-*.csv"))
    assert not list((tmp_path / "reports").rglob("unit.json"))
    _no_debris(tmp_path)


# --- item 16: the configuration checked up front ---------------------------------------------------------------------

@pytest.mark.parametrize("change, message", [
    ({"classifiers": [{"cnn": {"epochs": "x"}}]}, r"'classifiers\[0\]\.cnn' .*epochs.* must be an integer, got 'x'"),
    ({"classifiers": [{"cnn": {"epoch": 3}}]}, r"'classifiers\[0\]\.cnn' .*unknown key\(s\) \['epoch'\]"),
    ({"classifiers": [{"cnn": {"augmentation": {"twirl": 1.0}}}]}, r"unknown key\(s\) \['augmentation\.twirl'\]"),
    ({"classifiers": [{"cnn": {"learning_rate": float("nan")}}]}, r"learning_rate.* must be a finite number"),
    ({"classifiers": [{"cnn": {"channels": [16, "x"]}}]}, r"channels.* must be a list of integers"),
    ({"classifiers": [{"cnn": {"image_size": 0}}]}, r"image_size must be >= 1"),
    ({"output": {"compare": "nosuchpaper"}}, r"'output\.compare' .*nosuchpaper.*not a bundled paper"),
    ({"features": {"mode": "bogus"}}, r"'features\.mode' .*'auto', 'crop' or 'field'"),
    ({"evaluation": {"repetitions": 1_000_000_000}}, r"'evaluation\.repetitions' must be between 1 and 1000"),
    ({"classifiers": [{"weka": "weka.classifiers.rules.ZeroR", "repetitions": 10**9}]},
     r"'classifiers\[0\]\.repetitions' must be between 1 and 1000"),
    ({"evaluation": {"seed": 2**63 - 1, "repetitions": 2}}, r"'evaluation\.seed' .*Java long"),
    ({"datasets": [{"class_counts": {"neutrophil": float("inf")}}]}, r"class_counts\.neutrophil' must be a finite"),
    ({"datasets": [{"class_counts": {"neutrophil": float("nan")}}]}, r"class_counts\.neutrophil' must be a finite"),
])
def test_config_refused_before_any_work(cells, change, message):
    from wekawbc.experiment.config import parse_config

    raw = {"datasets": [{"path": str(cells)}], "classifiers": [{"weka": "weka.classifiers.rules.ZeroR"}],
           "output": {"compare": ""}}
    for key, value in change.items():
        if key == "datasets":
            value = [{**raw["datasets"][0], **value[0]}]
        raw[key] = {**raw.get(key, {}), **value} if isinstance(value, dict) else value
    with pytest.raises(WekawbcError, match=message):
        parse_config(raw, source="x.toml")


def test_non_utf8_config_and_paper_files(tmp_path):
    from wekawbc.papers import load_paper

    config = tmp_path / "latin1.toml"
    config.write_bytes('name = "caf\u00e9"\n'.encode("latin-1"))
    line = one_error_line(wekawbc("run", config))
    assert line == f"wekawbc: error: {config}: not UTF-8 text (byte 11 is 0xe9); save it as UTF-8"
    paper = tmp_path / "paper.json"
    paper.write_bytes(b'{"title": "\xff"}')
    with pytest.raises(WekawbcError, match=r"paper.json: not UTF-8 text \(byte 11 is 0xff\)"):
        load_paper(paper)


@pytest.mark.parametrize("args, message", [
    (["run", "{config}", "--workers", "0"], "--workers must be 1 or more, got 0"),
    (["run", "{config}", "--workers", "-3"], "--workers must be 1 or more, got -3"),
    (["run", "{config}", "--retries", "-1"], "--retries must be 0 or more, got -1"),
    (["extract", "{cells}", "-o", "{out}", "--jobs", "0"], "--jobs must be 1 or more (or -1: one per CPU), got 0"),
])
def test_worker_counts_refused(cells, tmp_path, args, message):
    config = tmp_path / "x.toml"
    config.write_text(f'[[datasets]]\npath = "{cells}"\n[[classifiers]]\nweka = "weka.classifiers.rules.ZeroR"\n'
                      f'[output]\nreports = "{tmp_path}/reports"\narff = "{tmp_path}/arff"\n')
    out = tmp_path / "out.arff"
    line = one_error_line(wekawbc(*(a.format(config=config, cells=cells, out=out) for a in args), cwd=tmp_path))
    assert line == f"wekawbc: error: {message}"
    assert not out.exists() and not (tmp_path / "reports").exists()


# --- item 5: 'run' says what it left out ----------------------------------------------------------------------------

def test_run_reports_skipped_images_and_rows(cells, tmp_path):
    import shutil

    data = tmp_path / "cells"
    shutil.copytree(cells, data)
    broken = data / "images" / "lymphocyte" / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    # An image of its own for the unknown label: a row repeating an image is refused as a duplicate first.
    shutil.copy(data / "images" / "neutrophil" / "neutrophil_0000.png", data / "images" / "neutrophil" / "extra.png")
    with open(data / "labels.csv", "a") as index:
        index.write("images/lymphocyte/broken.png,lymphocyte,,,\n")
        index.write("images/missing.png,neutrophil,,,\n")
        index.write("images/neutrophil/extra.png,platelet,,,\n")
    n_rows = len((data / "labels.csv").read_text().splitlines()) - 1
    config = tmp_path / "x.toml"
    config.write_text(f'name = "x"\n[[datasets]]\nname = "cells"\npath = "{data}"\n[evaluation]\nfolds = 2\n'
                      '[[classifiers]]\nweka = "weka.classifiers.rules.ZeroR"\n'
                      '[output]\nreports = "reports"\narff = "arff"\ncompare = ""\n')
    result = wekawbc("run", config, "--no-progress", cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    skipped_file = tmp_path / "reports" / "x" / "skipped.txt"
    skipped = skipped_file.read_text().splitlines()
    assert len(skipped) == 3
    for needle in ("broken.png", "missing.png", "platelet"):
        assert sum(needle in line for line in skipped) == 1, skipped
        assert needle in result.stderr
    used = n_rows - 3
    assert (f"wekawbc: data set 'cells': 3 labels.csv rows or images left out or incomplete, {used} cells used; "
            f"list in {Path('reports') / 'x' / 'skipped.txt'}") in result.stderr
    assert "Traceback" not in result.stderr
    assert (tmp_path / "reports" / "x" / "experiment.html").is_file()


# --- item 12: instance weights and class labels that the outputs cannot carry ----------------------------------------

# ("{NaN}" is no case: Weka's ARFF reader takes it as weight 1.)
@pytest.mark.parametrize("weight", ["-2", "Infinity", "1e400", "-Infinity", "-0.5"])
def test_weka_refuses_negative_or_non_finite_weights(tmp_path, weight):
    data = tmp_path / "w.arff"
    data.write_text(HEADER + "@data\n" + ROWS + f"1,x,{{{weight}}}\n")
    line = one_error_line(wekawbc("weka", data, "--classifier", "weka.classifiers.trees.J48", "--folds", "2"))
    assert line.startswith(f"wekawbc: error: {data}: instance 41 has weight ") and "finite weights of 0 or more" in line


def test_weka_keeps_zero_weights(tmp_path, jvm):
    from wekawbc.weka import load_instances

    data = tmp_path / "w.arff"
    data.write_text(HEADER + "@data\n" + ROWS + "1,x,{0}\n")
    assert load_instances(data).jobject.get(40).weight() == 0.0


def test_class_label_with_spaces_refused_before_predictions_are_written(tmp_path):
    data = tmp_path / "s.arff"
    data.write_text("@relation r\n@attribute a numeric\n@attribute class {' x',y}\n@data\n"
                    + "".join(f"{i % 5},{[repr(' x'), 'y'][i % 2]}\n" for i in range(20)))
    out = tmp_path / "p.csv"
    line = one_error_line(wekawbc("weka", data, "--classifier", "weka.classifiers.trees.J48", "--folds", "2",
                                  "--predictions", out))
    assert line == (f"wekawbc: error: {data}: class value ' x' begins or ends with a space, which the predictions "
                    "CSV cannot keep; rename it, or leave out --predictions")
    assert not out.exists()
    plain = wekawbc("weka", data, "--classifier", "weka.classifiers.trees.J48", "--folds", "2")
    assert plain.returncode == 0, plain.stderr


# --- item 3: Java out of memory ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("heap, message", [
    ("1k", "--max-heap 1k is less than the 16m Java and Weka need to start"),
    ("12x", "max heap '12x' is not a Java memory size such as 512m or 4g"),
    ("0m", "max heap '0m' is not a Java memory size such as 512m or 4g"),
    ("99999999t", "--max-heap 99999999t is more than this machine's memory"),
])
def test_max_heap_checked(tmp_path, heap, message):
    data = tmp_path / "d.arff"
    data.write_text(HEADER + "@data\n" + ROWS)
    line = one_error_line(wekawbc("weka", data, "--classifier", "weka.classifiers.rules.ZeroR", "--max-heap", heap))
    assert line.startswith(f"wekawbc: error: {message}"), line


@pytest.fixture(scope="module")
def big_arff(tmp_path_factory) -> Path:
    """About 12 MB of ARFF: 120,000 rows of 10 numbers and a class."""
    import numpy as np

    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("big") / "big.arff"
    values = np.round(rng.normal(size=(120_000, 10)), 6)
    classes = np.array(list("xyz"))[rng.integers(0, 3, len(values))]
    with open(path, "w") as handle:
        handle.write("@relation big\n" + "".join(f"@attribute a{i} numeric\n" for i in range(10))
                     + "@attribute class {x,y,z}\n@data\n")
        np.savetxt(handle, np.column_stack([values.astype(str), classes]), fmt="%s", delimiter=",")
    return path


@pytest.mark.parametrize("heap, classifier, where", [
    ("16m", "weka.classifiers.rules.ZeroR", "{data}"),                      # out of memory reading the data
    ("24m", "weka.classifiers.trees.J48", "weka.classifiers.trees.J48 -C 0.25 -M 2 on 'big'"),  # ... training
])
def test_out_of_memory_is_one_line(big_arff, heap, classifier, where):
    import time

    started = time.monotonic()
    line = one_error_line(wekawbc("weka", big_arff, "--classifier", classifier, "--folds", "2", "--max-heap", heap,
                                  timeout=120))
    assert line.startswith(f"wekawbc: error: {where.format(data=big_arff)}: Java ran out of memory (max heap {heap})")
    assert time.monotonic() - started < 60  # no minutes of garbage collection first


# --- item 19 (part): Weka classifiers that deserialize a file named in the configuration ---------------------------------

@pytest.mark.parametrize("command", [
    "weka.classifiers.misc.SerializedClassifier -model /tmp/evil.model",
    'weka.classifiers.meta.Vote -S 1 -B "weka.classifiers.misc.SerializedClassifier -model m.model" -R AVG',
    "weka.classifiers.misc.InputMappedClassifier -I -trim -L /tmp/evil.model -W weka.classifiers.rules.ZeroR",
    "weka.classifiers.meta.Vote -S 1 -P /tmp/evil.model -R AVG",
])
def test_config_refuses_classifiers_that_load_model_files(cells, command):
    from wekawbc.experiment.config import parse_config

    raw = {"datasets": [{"path": str(cells)}], "classifiers": [{"weka": command}], "output": {"compare": ""}}
    with pytest.raises(WekawbcError, match=r"'classifiers\[0\]\.weka' makes Weka deserialize a file .*allow_model_files"):
        parse_config(raw, source="x.toml")
    raw["classifiers"][0]["allow_model_files"] = True
    assert parse_config(raw, source="x.toml").classifiers[0].weka == command


def test_config_keeps_plain_vote_and_input_mapped(cells):
    from wekawbc.experiment.config import parse_config

    for command in ('weka.classifiers.meta.Vote -S 1 -B "weka.classifiers.trees.J48 -C 0.25" -R AVG',
                    "weka.classifiers.misc.InputMappedClassifier -I -trim -W weka.classifiers.rules.ZeroR"):
        raw = {"datasets": [{"path": str(cells)}], "classifiers": [{"weka": command}], "output": {"compare": ""}}
        assert parse_config(raw).classifiers[0].weka == command
