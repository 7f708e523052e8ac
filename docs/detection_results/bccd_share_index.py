"""Write a labels.csv naming one share's labelled single-leukocyte bccd fields (absolute paths), to train on.

Run: PYTHONPATH=. python3 docs/detection_results/bccd_share_index.py ../shared/datasets/bccd development OUT_DIR
"""
import csv
import sys
from pathlib import Path

from wekawbc.cells.dataset import load_dataset
from wekawbc.cells.validation import in_share

source, share, out = sys.argv[1], sys.argv[2], Path(sys.argv[3])
records = [r for r in load_dataset(source) if r.label and r.extra.get("n_wbc_boxes") == "1" and in_share(r, share)]
out.mkdir(parents=True, exist_ok=True)
with open(out / "labels.csv", "w", newline="", encoding="utf-8") as handle:
    writer = csv.writer(handle)
    writer.writerow(["image", "label", "wbc_boxes_xyxy"])
    for record in records:
        writer.writerow([str(Path(record.image).resolve()), record.label, record.extra["wbc_boxes_xyxy"]])
print(f"{len(records)} fields")
