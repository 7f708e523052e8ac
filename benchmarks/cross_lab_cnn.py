"""The CNN's cross-lab tables of ``docs/cross_lab.md`` from the committed results files.

Every number of the CNN section is read from ``docs/cross_lab_results/cnn_*.json`` (copies of the
``evaluation.json`` of ``wekawbc cnn evaluate --out`` and the ``adapt.json`` of ``wekawbc cnn
adapt --out``; the commands are in the doc and in each file's ``provenance.command``):

    python -m benchmarks.cross_lab_cnn [docs/cross_lab_results]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _cell(entry: dict | None, scale: float = 100.0, digits: int = 1) -> str:
    if entry is None:
        return "-"
    return (f"{entry['estimate'] * scale:.{digits}f} "
            f"[{entry['low'] * scale:.{digits}f}, {entry['high'] * scale:.{digits}f}]")


def evaluation_row(path: Path) -> str:
    """``| file | train | test | n | accuracy % [CI] | macro-F1 [CI] | recalls |`` of one evaluation.json."""
    document = json.loads(path.read_text())
    metrics = document["bootstrap"]["metrics"]
    provenance = document["provenance"]
    test = provenance.get("test", {}).get("dataset", document["mode"])
    n = sum(sum(row) for row in document["evaluation"]["confusion_matrix"]["matrix"])
    recalls = ", ".join(f"{label[:3]} {entry['estimate']:.2f}" for label, entry in metrics["recall"].items())
    return (f"| `{path.name}` | {provenance['dataset']} | {test} | {int(n)} | {_cell(metrics['accuracy'])} | "
            f"{_cell(metrics['macro_f1'], 1.0, 3)} | {recalls} |")


def adapt_rows(path: Path) -> list[str]:
    """``| file | K | trained on | tested on | accuracy % [CI] | macro-F1 [CI] |`` per point of an adapt.json."""
    document = json.loads(path.read_text())
    rows = []
    for point in document["curve"]:
        metrics = point["bootstrap"]["metrics"]
        rows.append(f"| `{path.name}` | {point['per_class']} | {point['n_train']} | {point['n_test']} | "
                    f"{_cell(metrics['accuracy'])} | {_cell(metrics['macro_f1'], 1.0, 3)} |")
    return rows


def main(argv: list[str]) -> int:
    folder = Path(argv[0]) if argv else Path("docs/cross_lab_results")
    print("| results file | trained on | tested on | n | accuracy % [95 % CI] | macro-F1 [95 % CI] | recall |")
    print("|---|---|---|---|---|---|---|")
    for path in sorted(folder.glob("cnn_*.json")):
        if "adapt" not in path.name:
            print(evaluation_row(path))
    print("\n| results file | K per class | trained on | tested on | accuracy % [95 % CI] | macro-F1 [95 % CI] |")
    print("|---|---|---|---|---|---|")
    for path in sorted(folder.glob("cnn_adapt_*.json")):
        print("\n".join(adapt_rows(path)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
