"""Single-leukocyte crops of the ``bccd/`` smear fields, around their labelled VOC WBC box.

    python -m benchmarks.bccd_crops ../shared/datasets/bccd OUT_DIR [--margin 0.3]

Keeps the fields with one type label and exactly one WBC box (``n_wbc_boxes`` = 1 in
``labels.csv``), cuts the box widened by ``margin`` of its width/height on each side (clipped to
the field), writes ``OUT_DIR/images/<field>.png`` and ``OUT_DIR/labels.csv`` (image, label, field,
box), a data set ``wekawbc extract --mode crop`` reads as it reads ``pbc/`` and ``jtsc/``.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import cv2

from wekawbc._io import atomic_write_bytes


def write_crops(source: Path, out: Path, margin: float = 0.3) -> list[dict[str, str]]:
    """Write the crops and their labels.csv; return the rows."""
    (out / "images").mkdir(parents=True, exist_ok=True)
    rows = []
    with open(source / "labels.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            if not row["label"] or row["n_wbc_boxes"] != "1":
                continue
            x0, y0, x1, y1 = map(int, row["wbc_boxes_xyxy"].split(","))
            field = cv2.imread(str(source / "images" / row["image"]))
            width, height = x1 - x0, y1 - y0
            left, top = max(int(x0 - margin * width), 0), max(int(y0 - margin * height), 0)
            right = min(int(x1 + margin * width), field.shape[1])
            bottom = min(int(y1 + margin * height), field.shape[0])
            name = Path(row["image"]).with_suffix(".png").name
            ok, encoded = cv2.imencode(".png", field[top:bottom, left:right])
            if not ok:
                raise RuntimeError(f"{row['image']}: could not encode the crop")
            atomic_write_bytes(out / "images" / name, encoded.tobytes())
            rows.append({"image": f"images/{name}", "label": row["label"], "field": row["image"],
                         "box": f"{left},{top},{right},{bottom}"})
    with open(out / "labels.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["image", "label", "field", "box"])
        writer.writeheader()
        writer.writerows(rows)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--margin", type=float, default=0.3)
    args = parser.parse_args(argv)
    rows = write_crops(args.source, args.out, args.margin)
    print(f"{len(rows)} crops -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
