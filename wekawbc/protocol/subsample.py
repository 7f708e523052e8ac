"""Seeded subsampling of a data set to a chosen class mix (pure numpy; no torch).

The balanced ``pbc/`` set (700 per class) reproduces the paper's imbalance when subsampled to its
Table 2 counts::

    neutrophil=556,lymphocyte=228,eosinophil=153,monocyte=38,basophil=25

A mix can also be given as proportions (``neutrophil=0.556,...``, summing to 1): the largest subset
the data can supply in those proportions is drawn. Classes the mix does not name are left out.
The selected indices come back in the data's own order, so the subset keeps the record order that
the ARFF of handcrafted features uses (Weka's folds depend on that order).
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np

from wekawbc.papers import load_paper

__all__ = ["PAPER_TABLE2_COUNTS", "parse_cell_counts", "parse_class_counts", "resolve_class_counts",
           "subsample_counts"]

#: The paper's Table 2 (Alkrimi et al. 2023): cells per type in its 1000-image data set, read from the
#: paper's data file (``wekawbc/papers/alkrimi2023.json``).
PAPER_TABLE2_COUNTS: Mapping[str, int] = load_paper("alkrimi2023").class_counts("five")


def parse_class_counts(text: str) -> dict[str, float]:
    """Parse ``name=value,name=value`` into a dict (values are counts or proportions).

    Raises
    ------
    ValueError
        Naming the offending item: no ``=``, an empty name, a repeated name, a value that is not a
        non-negative number.
    """
    counts: dict[str, float] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ValueError(f"class count {item!r} is not of the form name=value")
        if name in counts:
            raise ValueError(f"class {name!r} is given twice in {text!r}")
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"class count {item!r}: {value.strip()!r} is not a number") from None
        if not math.isfinite(number) or number < 0:
            raise ValueError(f"class count {item!r}: the value must be a number >= 0")
        counts[name] = number
    if not counts:
        raise ValueError(f"no class counts in {text!r}; expected name=value,name=value")
    return counts


def parse_cell_counts(text: str) -> dict[str, float]:
    """:func:`parse_class_counts` for the five leukocyte types: ``paper`` (:data:`PAPER_TABLE2_COUNTS`),
    or names in any spelling :func:`~wekawbc.cells.dataset.normalise_label` knows (``eos=10``).

    Raises
    ------
    ValueError
        As :func:`parse_class_counts`, or for a name that is no type (the valid ones listed).
    """
    from wekawbc.cells.dataset import CLASSES, normalise_label

    if text.strip().lower() == "paper":
        return {name: float(count) for name, count in PAPER_TABLE2_COUNTS.items()}
    counts: dict[str, float] = {}
    for name, value in parse_class_counts(text).items():
        try:
            cell_type = normalise_label(name)
        except ValueError:
            cell_type = None
        if cell_type is None:
            raise ValueError(f"'{name}' is not a class; valid classes: {', '.join(CLASSES)}")
        if cell_type in counts:
            raise ValueError(f"class {cell_type!r} is given twice in {text!r}")
        counts[cell_type] = value
    return counts


def _is_proportions(values: Sequence[float]) -> bool:
    return any(not float(v).is_integer() for v in values) or math.isclose(sum(values), 1.0)


def resolve_class_counts(available: Mapping[str, int], counts: Mapping[str, float]) -> dict[str, int]:
    """Whole counts per class: ``counts`` as given, or proportions scaled to the largest feasible total.

    Parameters
    ----------
    available : mapping of str to int
        Instances per class in the data.
    counts : mapping of str to float
        Wanted counts (whole numbers) or proportions (summing to 1).

    Raises
    ------
    ValueError
        A class the data do not hold, more instances asked for than the data hold, or proportions
        that do not sum to 1.
    """
    unknown = [name for name in counts if name not in available]
    if unknown:
        raise ValueError(f"class(es) {unknown} not in the data, which hold {sorted(available)}")
    if not _is_proportions(list(counts.values())):
        wanted = {name: int(value) for name, value in counts.items()}
    else:
        total = sum(counts.values())
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(f"class proportions sum to {total:g}, not 1")
        # The largest n with round(p * n) <= available for every class.
        n = min(math.floor(available[name] / p) for name, p in counts.items() if p > 0)
        while any(round(p * n) > available[name] for name, p in counts.items()):
            n -= 1
        wanted = {name: int(round(p * n)) for name, p in counts.items()}
    short = {name: (c, available[name]) for name, c in wanted.items() if c > available[name]}
    if short:
        detail = ", ".join(f"{name}: {c} asked, {have} available" for name, (c, have) in short.items())
        raise ValueError(f"not enough instances ({detail})")
    return wanted


def subsample_counts(labels: Sequence[str | None], counts: Mapping[str, float], seed: int = 1) -> np.ndarray:
    """Indices of a seeded random subset of ``labels`` holding the wanted number of each class.

    Parameters
    ----------
    labels : sequence of str or None
        The class of each instance, in the data's order (None = unlabelled, never selected).
    counts : mapping of str to float
        Wanted counts per class, or proportions (see :func:`resolve_class_counts`). Classes not
        named are left out.
    seed : int, default=1
        Seed of the draw (numpy ``default_rng``); the same seed gives the same subset.

    Returns
    -------
    ndarray of int, shape (n_selected,)
        Ascending indices into ``labels``: the subset keeps the data's record order.
    """
    labels_array = np.asarray([("" if label is None else str(label)) for label in labels], dtype=object)
    names, sizes = np.unique(labels_array[labels_array != ""], return_counts=True)
    wanted = resolve_class_counts(dict(zip(names.tolist(), sizes.tolist())), counts)
    rng = np.random.default_rng(seed)
    chosen = []
    # A fixed class order (sorted names) keeps the draw independent of the order the mix was typed in.
    for name in sorted(wanted):
        members = np.flatnonzero(labels_array == name)
        chosen.append(rng.permutation(members)[: wanted[name]])
    return np.sort(np.concatenate(chosen)) if chosen else np.empty(0, dtype=np.int64)
