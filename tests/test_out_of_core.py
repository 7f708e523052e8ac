"""Out-of-core: features go to disk batch by batch, an interrupted extraction resumes, ARFF/Parquet stream."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from wekawbc.arff import arff_writer, parquet_writer, write_arff
from wekawbc.experiment.data import _BATCH, extract_table, select_cells
from wekawbc.experiment.scaleout import SerialExecutor, in_flight_window
from wekawbc.synthetic import scaled_counts, write_dataset


class _Counting(SerialExecutor):
    """The in-process executor, counting the batches it runs; after ``stop_after`` waits for results, a Ctrl-C."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.stop_after = stop_after
        self.waits = 0
        self.tasks: list[str] = []

    def results(self, handles, desc, progress=True):
        if self.stop_after is not None and self.waits == self.stop_after:
            raise KeyboardInterrupt
        self.waits += 1
        self.tasks += [handle.key for handle in handles]
        return super().results(handles, desc, progress)


@pytest.fixture(scope="module")
def cells(tmp_path_factory: pytest.TempPathFactory):
    data = write_dataset(tmp_path_factory.mktemp("data"), scaled_counts(0.07), seed=3)  # 69 images: 5 batches
    return select_cells("cells", data, None, 1)


def test_an_interrupted_extraction_resumes_at_the_next_batch_and_gives_the_same_table(cells, tmp_path: Path):
    batches = -(-len(cells.records) // _BATCH)
    assert batches == 5
    whole = extract_table(cells, {}, tmp_path / "whole", _Counting(), progress=False)
    interrupted = _Counting(stop_after=2)  # two batches done, then Ctrl-C
    with pytest.raises(KeyboardInterrupt):
        extract_table(cells, {}, tmp_path / "resumed", interrupted, progress=False)
    assert interrupted.tasks == ["features-cells-0", "features-cells-1"]
    (parts,) = (tmp_path / "resumed").glob("*.parts")
    assert sorted(p.name for p in parts.glob("*.csv")) == ["000000.csv", "000001.csv"]
    assert not list((tmp_path / "resumed").glob("features-*.csv"))  # no cache file before every batch is in
    written = [(parts / name).read_text().splitlines() for name in ("000000.csv", "000001.csv")]
    resumed = _Counting()
    table = extract_table(cells, {}, tmp_path / "resumed", resumed, progress=False)
    assert resumed.tasks == [f"features-cells-{n}" for n in range(2, batches)]  # only the batches not written
    assert not parts.exists()
    # The batches written before the interruption are in the table as written, header included.
    lines = table.cache_file.read_text().splitlines()
    assert lines[:1 + 2 * _BATCH] == written[0] + written[1][1:]
    # And the table is the uninterrupted one, byte for byte (segmentation repeats exactly:
    # tests/test_segmentation_determinism.py).
    assert table.ids == whole.ids and table.names == whole.names and table.failures == whole.failures
    assert table.cache_file.read_bytes() == whole.cache_file.read_bytes()
    again = _Counting()
    assert extract_table(cells, {}, tmp_path / "resumed", again, progress=False).from_cache and again.tasks == []


def test_in_flight_window_sends_ahead_and_gives_back_in_order():
    events: list[str] = []

    def sent(count):
        for item in range(count):
            events.append(f"send {item}")
            yield item

    for item in in_flight_window(sent(4), 2):
        events.append(f"wait {item}")
    assert events == ["send 0", "send 1", "wait 0", "send 2", "wait 1", "send 3", "wait 2", "wait 3"]
    assert list(in_flight_window(iter([]), 3)) == [] and list(in_flight_window(range(2), 5)) == [0, 1]


_LABELS = [["x", "y z", None][i % 3] for i in range(23)]


def _table() -> tuple[pd.DataFrame, list[str]]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(23, 4)) * 10.0 ** rng.integers(-8, 8, size=(23, 4)), columns=list("abcd"))
    frame.iloc[3, 1] = np.nan
    frame.iloc[5, 2] = np.inf
    frame["class"] = _LABELS
    return frame, ["x", "y z"]


def test_arff_written_in_blocks_is_the_whole_file(tmp_path: Path):
    frame, classes = _table()
    write_arff(tmp_path / "whole.arff", frame, classes, relation="r", comments=["c"])
    matrix = frame[list("abcd")].to_numpy()
    with arff_writer(tmp_path / "blocks.arff", list("abcd"), classes, relation="r", comments=["c"]) as write:
        for start in range(0, 23, 5):
            write(matrix[start:start + 5], _LABELS[start:start + 5])
    assert (tmp_path / "blocks.arff").read_bytes() == (tmp_path / "whole.arff").read_bytes()


def test_an_arff_stream_that_fails_leaves_no_file(tmp_path: Path):
    with pytest.raises(ValueError, match="not among"):
        with arff_writer(tmp_path / "bad.arff", ["a"], ["x"], relation="r") as write:
            write(np.zeros((1, 1)), ["x"])
            write(np.zeros((1, 1)), ["w"])
    assert list(tmp_path.iterdir()) == []


def test_parquet_in_blocks_reads_back_as_the_table(tmp_path: Path):
    pytest.importorskip("pyarrow")
    frame, _ = _table()
    matrix = frame[list("abcd")].to_numpy()
    with parquet_writer(tmp_path / "t.parquet", list("abcd")) as write:
        for start in range(0, 23, 5):
            write(matrix[start:start + 5], _LABELS[start:start + 5])
    back = pd.read_parquet(tmp_path / "t.parquet")
    assert list(back.columns) == [*"abcd", "class"]
    np.testing.assert_array_equal(back[list("abcd")].to_numpy(), matrix)
    assert [None if pd.isna(v) else v for v in back["class"]] == _LABELS


def test_two_runs_sharing_a_cache_extract_once_and_agree(cells, tmp_path: Path):
    """Two runs at once on the same images and cache (the five-class and binary grids of docs/, say):
    one extracts, the other waits and reads its table; before the lock, one removed the other's parts."""
    import threading

    executors = [_Counting(), _Counting()]
    tables: list = [None, None]
    errors: list[BaseException] = []

    def run(number: int) -> None:
        try:
            tables[number] = extract_table(cells, {}, tmp_path / "shared", executors[number], progress=False)
        except BaseException as error:  # reported below, on the test's thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(number,)) for number in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(len(executor.tasks) for executor in executors) == [0, 5]  # one extracted, one read the cache
    assert sorted(table.from_cache for table in tables) == [False, True]
    np.testing.assert_array_equal(tables[0].values, tables[1].values)
