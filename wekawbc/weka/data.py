"""Load a data set into Weka's ``Instances`` with a nominal class.

Sources and how they are read:

* **ARFF** (``.arff``, ``.arff.gz``): Weka's own ``ArffLoader``, exactly as the Explorer and the
  command line read it. Class values keep the order declared in the header.
* **CSV** (``.csv``): Weka's own ``CSVLoader``, as the Explorer opens it: ``?`` and empty cells are
  missing values, columns of numbers become numeric attributes, every other column nominal with
  its values in **order of first appearance** in the file. Two exceptions make the ``--csv`` table
  of ``wekawbc extract`` read as its ARFF: its identifier columns (image, cell, box, confidence,
  scale: :data:`wekawbc.features.batch.IDENTIFIER_COLUMNS`) are left out with an
  :class:`IdentifierColumnsNote` instead of being learnt from, and a class whose values are all
  leukocyte type names (or granulocyte/agranulocyte) declares them in the ARFF's order
  (:data:`wekawbc.cells.dataset.CLASSES`), through ``CSVLoader``'s own nominal label option.
* **pandas DataFrame**: numeric columns become numeric attributes; a ``Categorical`` column keeps
  its categories' order; any other column (strings, booleans) becomes nominal in order of first
  appearance, as Weka's ``CSVLoader`` does for a CSV. ``NaN``/``None`` are missing values.
* an ``Instances`` object (python-weka-wrapper3's or Java's) is used as it is.

The class attribute is the last one unless ``class_name`` names another; it must be nominal.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING
import numpy as np

from wekawbc._io import WekawbcError
from wekawbc.weka.jvm import java_error, read_timeout, start, with_watchdog

if TYPE_CHECKING:
    import pandas
    from weka.core.dataset import Instances

__all__ = ["IdentifierColumnsNote", "load_instances"]


class IdentifierColumnsNote(UserWarning):
    """Columns of a CSV that identify a cell (image, box, scale ...) were left out, not learnt from."""


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise WekawbcError(f"{path}: no such file")
    if path.is_dir():
        raise WekawbcError(f"{path}: is a folder, expected an ARFF or CSV file")
    try:
        with open(path, "rb"):
            pass
    except OSError as error:
        raise WekawbcError(f"{path}: cannot read: {error.strerror or error}") from None


def _ends_with_newline(path: Path) -> bool:
    """Whether the (possibly gzipped) file is empty or its last byte is a line break.

    False for a stream that cannot be read twice (a named pipe): one line break more is harmless.
    """
    import gzip

    if not path.is_file():
        return False
    if path.suffix.lower() == ".gz":
        last = b""
        try:
            with gzip.open(path, "rb") as handle:
                while chunk := handle.read(1 << 20):
                    last = chunk[-1:]
        except (OSError, EOFError):
            return True  # not readable as gzip: Weka reports it
        return last in (b"", b"\n", b"\r")
    with open(path, "rb") as handle:
        if handle.seek(0, os.SEEK_END) == 0:
            return True
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) in (b"\n", b"\r")


def _source_stream(path: Path):
    """The file as a Java stream with one line break appended.

    Weka's ARFF reader loops forever when a header line ends at the end of the file without a
    line break (``StreamTokenizer`` returns end-of-file, never end-of-line); with the line break
    it reports the file as cut short, and data rows read the same.
    """
    from jpype import JArray, JByte, JClass

    stream = JClass("java.io.BufferedInputStream")(JClass("java.io.FileInputStream")(str(path)))
    if path.suffix.lower() == ".gz":
        stream = JClass("java.util.zip.GZIPInputStream")(stream)
    newline = JClass("java.io.ByteArrayInputStream")(JArray(JByte)(b"\n"))
    return JClass("java.io.SequenceInputStream")(stream, newline)


def _read_with_weka(path: Path, loader_class: str, kind: str, label_specs: list[str] | None = None):
    """Load ``path`` with one of Weka's own loaders (as the Explorer does), under a watchdog
    (``label_specs``: ``CSVLoader``'s ``-L`` nominal label specifications)."""
    from jpype import JClass, JException

    System = JClass("java.lang.System")
    stdout, stderr = System.out, System.err
    # Weka's CSVLoader echoes a bad row to System.out before it throws; keep that off the user's terminal.
    quiet = JClass("java.io.PrintStream")(JClass("java.io.ByteArrayOutputStream")())
    loader = JClass(loader_class)()
    if label_specs:
        from jpype import JArray, JString

        loader.setNominalLabelSpecs(JArray(JString)(label_specs))

    def read():
        if loader_class.endswith(".ArffLoader") and not _ends_with_newline(path):
            loader.setSource(_source_stream(path))
        else:
            loader.setSource(JClass("java.io.File")(str(path)))
        return loader.getDataSet()

    try:
        System.setOut(quiet)
        System.setErr(quiet)
        return with_watchdog(read, read_timeout(path), str(path))
    except JException as error:
        raise java_error(error, str(path), f"not a valid {kind} file") from None
    finally:
        System.setOut(stdout)
        System.setErr(stderr)


def _read_csv(path: Path, class_name: str | None):
    """A CSV through Weka's ``CSVLoader``, less its identifier columns, the cell types in their order."""
    import warnings

    from wekawbc.cells.dataset import BINARY_CLASSES, CLASSES
    from wekawbc.features.batch import IDENTIFIER_COLUMNS

    data = _read_with_weka(path, "weka.core.converters.CSVLoader", "CSV")
    names = [str(data.attribute(i).name()) for i in range(data.numAttributes())]
    dropped = [i for i, name in enumerate(names) if name in IDENTIFIER_COLUMNS and name != class_name]
    if len(dropped) == len(names):
        dropped = []
    if dropped:
        warnings.warn(f"{path}: identifier column(s) {', '.join(names[i] for i in dropped)} left out (not learnt "
                      "from)", IdentifierColumnsNote, stacklevel=3)
    kept = [name for i, name in enumerate(names) if i not in dropped]
    class_column = class_name if class_name in kept else kept[-1]
    attribute = data.attribute(class_column)
    values = [str(v) for v in attribute.enumerateValues()] if attribute.isNominal() else []
    for order in (CLASSES, BINARY_CLASSES):
        if values and set(values) <= set(order) and values != list(order):
            spec = f"{names.index(class_column) + 1}:{','.join(order)}"
            data = _read_with_weka(path, "weka.core.converters.CSVLoader", "CSV", [spec])
            break
    return _without(data, dropped)


def _without(data, dropped: list[int]):
    """``data`` less the attributes at the indices ``dropped`` (Weka's ``Remove`` filter)."""
    from jpype import JArray, JClass, JInt

    if not dropped:
        return data
    remove = JClass("weka.filters.unsupervised.attribute.Remove")()
    remove.setAttributeIndicesArray(JArray(JInt)(dropped))
    remove.setInputFormat(data)
    kept = JClass("weka.filters.Filter").useFilter(data, remove)
    kept.setRelationName(data.relationName())  # the file's name, as Weka's CSVLoader gave it
    return kept


def _nominal_values(column) -> list[str]:
    import pandas as pd

    if isinstance(column.dtype, pd.CategoricalDtype):
        return [str(value) for value in column.cat.categories]
    return [str(value) for value in pd.unique(column.dropna())]


def _frame_to_instances(frame, relation: str, origin: str):
    """Java ``Instances`` from a DataFrame (see the module docstring for the attribute types)."""
    import pandas as pd
    from jpype import JArray, JClass, JDouble

    Attribute = JClass("weka.core.Attribute")
    ArrayList = JClass("java.util.ArrayList")
    if frame.shape[1] == 0:
        raise WekawbcError(f"{origin}: no columns")
    names = [str(name) for name in frame.columns]
    if len(set(names)) != len(names):
        raise WekawbcError(f"{origin}: column names are not unique: {names}")
    attributes = ArrayList()
    columns: list[np.ndarray] = []
    for name in names:
        column = frame[name]
        is_number = pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype)
        if is_number and not isinstance(column.dtype, pd.CategoricalDtype):
            attributes.add(Attribute(name))
            columns.append(column.to_numpy(dtype=np.float64, na_value=np.nan))
            continue
        if pd.api.types.is_datetime64_any_dtype(column.dtype):
            raise WekawbcError(f"{origin}: column '{name}' holds dates; convert it to numbers first")
        values = _nominal_values(column)
        index = {value: float(i) for i, value in enumerate(values)}
        attributes.add(Attribute(name, ArrayList(values)))
        columns.append(np.array([np.nan if pd.isna(v) else index[str(v)] for v in column], dtype=np.float64))
    matrix = np.column_stack(columns)
    data = JClass("weka.core.Instances")(relation, attributes, len(frame))
    DenseInstance = JClass("weka.core.DenseInstance")
    for row in matrix:
        data.add(DenseInstance(1.0, JArray(JDouble)(row)))
    return data


def _check_weights(data, origin: str) -> None:
    """Refuse negative, infinite and NaN instance weights (ARFF ``{w}``), which Weka takes silently
    and turns into wrong numbers or a crash; a weight of 0 (an instance Weka ignores) is fine."""
    count = data.numInstances()
    weights = np.fromiter((data.instance(i).weight() for i in range(count)), dtype=np.float64, count=count)
    bad = np.flatnonzero(~(np.isfinite(weights) & (weights >= 0)))
    if bad.size:
        raise WekawbcError(f"{origin}: instance {bad[0] + 1} has weight {weights[bad[0]]:g}; Weka needs finite "
                           "weights of 0 or more")


def _set_class(data, class_name: str | None, origin: str) -> None:
    if class_name is None:
        index = data.classIndex() if data.classIndex() >= 0 else data.numAttributes() - 1
    else:
        attribute = data.attribute(class_name)
        if attribute is None:
            names = [str(data.attribute(i).name()) for i in range(data.numAttributes())]
            raise WekawbcError(f"{origin}: no attribute named '{class_name}' for the class; attributes are {names}")
        index = attribute.index()
    if index < 0:
        raise WekawbcError(f"{origin}: no attributes, so no class attribute")
    attribute = data.attribute(index)
    if not attribute.isNominal():
        kind = "numeric" if attribute.isNumeric() else f"of type {attribute.typeToString(attribute)}, not nominal"
        raise WekawbcError(
            f"{origin}: class attribute '{attribute.name()}' is {kind}; Weka's classifiers here need a nominal "
            "class (choose another with class_name / --class, or make it nominal, e.g. with NumericToNominal)"
        )
    data.setClassIndex(index)


def load_instances(source: "str | os.PathLike | pandas.DataFrame | Instances", class_name: str | None = None):
    """Read ``source`` into Weka ``Instances`` whose class is a nominal attribute.

    Starts the JVM if needed (:func:`wekawbc.weka.jvm.start` with its defaults).

    Parameters
    ----------
    source : str, PathLike, pandas.DataFrame or Instances
        An ARFF or CSV file, a DataFrame, or Instances (python-weka-wrapper3's or Java's; copied, so
        the caller's object is not changed).
    class_name : str, optional
        Name of the class attribute; by default the last attribute (or, for Instances whose class
        is already set, that class).

    Returns
    -------
    weka.core.dataset.Instances
        python-weka-wrapper3's wrapper (the Java object is ``.jobject``), class index set.

    Raises
    ------
    WekawbcError
        One line naming the source: a missing or unreadable file, an ARFF syntax error (with Weka's
        line number), a CSV that cannot be parsed, or a class attribute that is absent or not nominal.
    """
    start()
    from jpype import JClass
    from weka.core.dataset import Instances

    if isinstance(source, Instances):
        data, origin = JClass("weka.core.Instances")(source.jobject), f"data set '{source.relationname}'"
    elif hasattr(source, "getClass") and str(source.getClass().getName()) == "weka.core.Instances":
        data, origin = JClass("weka.core.Instances")(source), f"data set '{source.relationName()}'"
    elif hasattr(source, "columns") and hasattr(source, "dtypes"):
        data, origin = _frame_to_instances(source, "dataframe", "DataFrame"), "DataFrame"
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        _check_readable(path)
        suffixes = "".join(path.suffixes[-2:]).lower()
        if path.suffix.lower() == ".csv":
            data = _read_csv(path, class_name)
        elif path.suffix.lower() == ".arff" or suffixes == ".arff.gz":
            data = _read_with_weka(path, "weka.core.converters.ArffLoader", "ARFF")
        else:
            raise WekawbcError(f"{path}: unknown file type '{path.suffix}'; expected .arff, .arff.gz or .csv")
        origin = str(path)
    else:
        raise WekawbcError(f"cannot load a data set from {type(source).__name__}; give a path, DataFrame or Instances")
    _set_class(data, class_name, origin)
    _check_weights(data, origin)
    return Instances(data)
