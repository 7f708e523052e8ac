"""ARFF and CSV output that Weka and pandas open as written.

ARFF layout: ``%`` comment lines (source, date, versions, parameters), ``@relation``, one
``@attribute NAME numeric`` per feature, the nominal class last with every class value listed in
the order given (so every file of a task declares the same values, present or not), then
``@data`` rows with ``?`` for missing values. Names and nominal values are quoted the way Weka's
``weka.core.Utils.quote`` does: single quotes, with backslash escapes, only where needed.
Both files are written atomically (a temporary file renamed on success).
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

from wekawbc._io import WekawbcError, atomic_write

__all__ = ["weka_quote", "write_arff", "arff_writer", "arff_rows", "prepend_comments", "parquet_writer", "write_csv",
           "csv_writer", "frame_of_rows"]

# Characters that make Weka's Utils.quote wrap a string in single quotes, and their escapes.
_NEEDS_QUOTES = set("\n\r'\"\\\t%\u001e ,{}")
_ESCAPES = {"\\": "\\\\", "'": "\\'", "\t": "\\t", "\n": "\\n", "\r": "\\r", '"': '\\"', "%": "\\%",
            "\u001e": "\\u001E"}


def weka_quote(text: str) -> str:
    """``text`` as Weka writes a name or nominal value: quoted and escaped only where needed."""
    if text and text != "?" and not (_NEEDS_QUOTES & set(text)):
        return text
    return "'" + "".join(_ESCAPES.get(char, char) for char in text) + "'"


def _frame(frame_or_rows: pd.DataFrame | Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    if isinstance(frame_or_rows, pd.DataFrame):
        return frame_or_rows
    return frame_of_rows(list(frame_or_rows))


def frame_of_rows(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Rows (dicts) as a frame whose text columns hold Python strings (object dtype).

    pandas 3 stores text it infers in pyarrow where pyarrow is installed, and pyarrow refuses a
    file name that is not UTF-8 (which Python keeps as surrogate escapes); as Python strings such
    names reach the writers, which escape them. Other columns are inferred as pandas does.
    """
    names = list(columns) if columns is not None else list(dict.fromkeys(key for row in rows for key in row))
    data = {}
    for name in names:
        values = [row.get(name) for row in rows]
        data[name] = pd.Series(values, dtype=object if any(isinstance(v, str) for v in values) else None)
    return pd.DataFrame(data, columns=names)


def _number(value: Any) -> str:
    if value is None:
        return "?"
    number = float(value)
    if not math.isfinite(number):
        return "?"
    if number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    return repr(number)


def write_arff(path: str | os.PathLike, frame_or_rows: pd.DataFrame | Iterable[Mapping[str, Any]],
               class_values: Sequence[str], *, relation: str, comments: Sequence[str] = (),
               class_attribute: str = "class") -> Path:
    """Write numeric features and a nominal class as an ARFF file Weka loads as is.

    Parameters
    ----------
    path : path
        Output file (written atomically).
    frame_or_rows : DataFrame or iterable of dict
        One row per instance: numeric columns (NaN, None and infinities become ``?``) and the
        ``class_attribute`` column (a value of ``class_values``, or None/NaN for ``?``). The class
        may be absent (then every class is ``?``). Column order is kept; the class goes last.
    class_values : sequence of str
        Every class value, in the order Weka will index them.
    relation : str
        The ``@relation`` name.
    comments : sequence of str
        Lines written first as ``% ...`` comments (source, date, versions, parameters).
    class_attribute : str, default="class"
        Name of the class column.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ValueError
        When a feature column is not numeric, a class value is not in ``class_values``, or
        ``class_values`` is empty or repeats a value.
    """
    frame = _frame(frame_or_rows)
    if not class_values or len(set(class_values)) != len(class_values):
        raise ValueError(f"class_values must list distinct values, got {list(class_values)!r}")
    features = [column for column in frame.columns if column != class_attribute]
    matrix, classes = arff_rows(frame, class_attribute)
    unknown = sorted({value for value in classes if value is not None} - set(class_values))
    if unknown:
        raise ValueError(f"class values {unknown} are not among {list(class_values)}")
    with arff_writer(path, [str(column) for column in features], class_values, relation=relation,
                     comments=comments, class_attribute=class_attribute) as write:
        write(matrix, classes)
    return Path(path)


def arff_rows(frame: pd.DataFrame, class_attribute: str = "class") -> tuple[np.ndarray, list[str | None]]:
    """A table's feature matrix (every column but the class, float64, NaN for missing) and class values
    (None for missing), as :func:`write_arff` writes them; what ``write`` of :func:`arff_writer` takes.

    Raises
    ------
    ValueError
        When a feature column is not numeric.
    """
    features = [column for column in frame.columns if column != class_attribute]
    for column in features:
        if not pd.api.types.is_numeric_dtype(frame[column]) and not frame[column].isna().all():
            raise ValueError(f"column {column!r} is not numeric (ARFF features are numeric)")
    if class_attribute in frame.columns:
        classes = [None if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
                   for value in frame[class_attribute].tolist()]
    else:
        classes = [None] * len(frame)
    matrix = frame[features].to_numpy(dtype=np.float64, na_value=np.nan) if features else np.empty((len(frame), 0))
    return matrix, classes


def _write_comments(handle, comments: Sequence[str]) -> None:
    for line in comments:
        for part in str(line).splitlines() or [""]:
            handle.write(f"% {part}\n" if part else "%\n")


def prepend_comments(path: str | os.PathLike, body: str | os.PathLike, comments: Sequence[str]) -> Path:
    """Write ``path``: the ``comments`` as :func:`arff_writer` writes them (``%`` lines), then the file
    ``body`` copied in blocks; atomically. For an ARFF whose comments are known only once its rows are
    written (``wekawbc extract``'s counts; ``body`` an ARFF written without comments); without comments,
    an atomic copy."""
    with atomic_write(path, "w") as handle, open(body, encoding="utf-8", newline="") as source:
        _write_comments(handle, comments)
        shutil.copyfileobj(source, handle, 1 << 20)
    return Path(path)


@contextlib.contextmanager
def arff_writer(path: str | os.PathLike, features: Sequence[str], class_values: Sequence[str], *, relation: str,
                comments: Sequence[str] = (), class_attribute: str = "class"
                ) -> Iterator[Callable[[np.ndarray, Sequence[str | None]], None]]:
    """Write an ARFF file in pieces: the header now, then rows as they come (memory flat in the rows).

    Yields ``write(matrix, classes)``, to call once per block of rows: ``matrix`` holds one row of
    ``features`` values per instance (NaN and infinities become ``?``), ``classes`` each row's class
    value (None for ``?``). The file appears, atomically, when the block ends without an exception;
    the layout is :func:`write_arff`'s, byte for byte.
    """
    with atomic_write(path, "w") as handle:
        _write_comments(handle, comments)
        handle.write(f"@relation {weka_quote(relation)}\n\n")
        for column in features:
            handle.write(f"@attribute {weka_quote(str(column))} numeric\n")
        values = ",".join(weka_quote(value) for value in class_values)
        handle.write(f"@attribute {weka_quote(class_attribute)} {{{values}}}\n\n@data\n")
        quoted = {value: weka_quote(value) for value in class_values}

        def write(matrix: np.ndarray, classes: Sequence[str | None]) -> None:
            if len(matrix) != len(classes):
                raise ValueError(f"{len(matrix)} rows of features but {len(classes)} class values")
            unknown = sorted({label for label in classes if label is not None} - set(quoted))
            if unknown:
                raise ValueError(f"class values {unknown} are not among {list(class_values)}")
            for row, label in zip(matrix, classes):
                cells = [_number(value) for value in row]
                cells.append("?" if label is None else quoted[label])
                handle.write(",".join(cells) + "\n")

        yield write


@contextlib.contextmanager
def parquet_writer(path: str | os.PathLike, features: Sequence[str], *, class_attribute: str = "class"
                   ) -> Iterator[Callable[[np.ndarray, Sequence[str | None]], None]]:
    """Write the same table as :func:`arff_writer` as Parquet (pyarrow), one row group per block of rows.

    Columns: every feature as float64 (NaN where the ARFF has ``?``) and the class as a string
    (null for ``?``); ``pandas.read_parquet(path)`` gives the table back. Written atomically.

    Raises
    ------
    WekawbcError
        When pyarrow is not installed.
    """
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise WekawbcError(f"{path}: Parquet output needs pyarrow (pip install pyarrow)") from None
    names = [str(name) for name in features]
    schema = pa.schema([(name, pa.float64()) for name in names] + [(class_attribute, pa.string())])
    with atomic_write(path, "wb") as handle:
        writer = pq.ParquetWriter(pa.PythonFile(handle, mode="w"), schema)

        def write(matrix: np.ndarray, classes: Sequence[str | None]) -> None:
            if len(matrix) != len(classes):
                raise ValueError(f"{len(matrix)} rows of features but {len(classes)} class values")
            block = np.asarray(matrix, dtype=np.float64).reshape(len(classes), len(names))
            columns = [pa.array(block[:, j]) for j in range(len(names))] + [pa.array(list(classes), pa.string())]
            writer.write_table(pa.Table.from_arrays(columns, schema=schema))

        try:
            yield write
        finally:
            writer.close()


def write_csv(path: str | os.PathLike, frame_or_rows: pd.DataFrame | Iterable[Mapping[str, Any]]) -> Path:
    """Write a table as CSV (atomically; missing values as empty fields, floats round-trip exactly)."""
    frame = _frame(frame_or_rows)
    with atomic_write(path, "w") as handle:
        frame.to_csv(handle, index=False, lineterminator="\n", float_format=None)
    return Path(path)


@contextlib.contextmanager
def csv_writer(path: str | os.PathLike, columns: Sequence[str]) -> Iterator[Callable[[Sequence[Mapping[str, Any]]], None]]:
    """Write a CSV in pieces: the header now, then rows (dicts) as they come (memory flat in the rows).

    Yields ``write(rows)``, to call once per block of rows; each block's values are laid out as
    :func:`write_csv` lays out a frame of them (:func:`frame_of_rows`), so the file equals
    ``write_csv(path, frame_of_rows(all_rows, columns))`` where every column holds values of one kind
    (numbers, or text and None) throughout. Written atomically when the block ends without an exception.
    """
    with atomic_write(path, "w") as handle:
        frame_of_rows([], columns).to_csv(handle, index=False, lineterminator="\n")

        def write(rows: Sequence[Mapping[str, Any]]) -> None:
            if rows:
                frame_of_rows(rows, columns).to_csv(handle, index=False, header=False, lineterminator="\n")

        yield write
