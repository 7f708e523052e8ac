"""CNN accuracy on the labelled single-leukocyte bccd fields: field centre vs detected cell vs annotated box.

Run: PYTHONPATH=. python3 docs/detection_results/cnn_fields.py MODEL.pt ../shared/datasets/bccd OUT.json [SHARE]

SHARE (``development`` or ``held-out``, wekawbc.cells.validation.in_share) keeps only that share's
fields: a model trained on the development share's box crops is scored on the held-out fields.
"""
import json
import subprocess
import sys

import numpy as np

from wekawbc.cells.dataset import load_dataset, read_image
from wekawbc.cells.fields import field_cells
from wekawbc.cells.validation import in_share, truth_boxes
from wekawbc.cnn.fields import cell_crop
from wekawbc.cnn.images import prepare_crop
from wekawbc.cnn.model_file import load_model
from wekawbc.cnn.training import predict_proba

model_path, source, out = sys.argv[1:4]
share = sys.argv[4] if len(sys.argv) > 4 else "all"
model, payload = load_model(model_path)
pre = model.preprocessing
records = [r for r in load_dataset(source) if r.label and r.extra.get("n_wbc_boxes") == "1" and in_share(r, share)]
centre, detected, boxed, y, found = [], [], [], [], 0
blank = np.zeros((pre.image_size, pre.image_size, 3), np.uint8)
for record in records:
    rgb = read_image(record.image)
    centre.append(prepare_crop(rgb, pre.image_size, pre.crop_fraction))
    cells = field_cells(str(record.image), rgb, one_per_image=True)
    found += bool(cells)
    detected.append(cell_crop(rgb, cells[0].box, pre.image_size, pre.crop_fraction) if cells else blank)
    boxed.append(cell_crop(rgb, truth_boxes(record)[0], pre.image_size, pre.crop_fraction))
    y.append(model.labels.index(record.label))
y = np.array(y)
result = {"command": " ".join(sys.argv), "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"],
          capture_output=True, text=True).stdout.strip(), "model": model_path, "share": share,
          "model_training": {"command": payload["extra"]["command"], "settings": payload["settings"],
                             "stop_reason": payload["stop_reason"]},
          "fields": len(records), "fields_with_a_detection": found,
          "class_counts": {label: int((y == i).sum()) for i, label in enumerate(model.labels)}}
for name, crops in (("field_centre", centre), ("detected_main_cell", detected), ("annotated_box_crop", boxed)):
    predicted = predict_proba(model, np.stack(crops), threads=1).argmax(axis=1)
    if name == "detected_main_cell":  # a field without detection counts as wrong
        has = np.array([bool(c.any()) for c in crops])
        correct = (predicted == y) & has
    else:
        correct = predicted == y
    result[name] = {"accuracy": float(correct.mean()), "correct": int(correct.sum()),
                    "predicted_counts": {label: int((predicted == i).sum()) for i, label in enumerate(model.labels)}}
json.dump(result, open(out, "w"), indent=2, default=str)
print(json.dumps(result, indent=2, default=str))
