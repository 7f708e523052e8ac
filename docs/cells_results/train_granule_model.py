"""Fit the granule-colour model of wekawbc.cells.granules on the pbc development share.

Run: PYTHONPATH=. python3 docs/cells_results/train_granule_model.py ../shared/datasets/pbc wekawbc/cells/granule_model.json

For every development-share crop (file-name number not a multiple of 4) with WBCAtt attributes:
segment it, measure its granules (:func:`wekawbc.cells.granules.granule_measures`, as
:func:`wekawbc.cells.validation.cell_lobes` does), then fit a
multinomial logistic regression (scikit-learn, standardised inputs, C=10) from
:data:`wekawbc.cells.granules.MODEL_INPUTS` (granule measures and the nucleus's and cytoplasm's
colour; a missing compartment colour set to the development median) to WBCAtt's ``granule_colour``
(nil, pink, purple, red).
The held-out share is never read. The model is stored as plain numbers (JSON), with this command,
the commit, the training size and the 5-fold cross-validated accuracy on the development share.
"""
import json
import subprocess
import sys

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from wekawbc._io import atomic_write_text
from wekawbc.cells.dataset import load_dataset, read_image
from wekawbc.cells.granules import BASE_INPUTS, MODEL_INPUTS, granule_measures, model_inputs
from wekawbc.cells.segmentation import segment_cell
from wekawbc.cells.stain import background_colour
from wekawbc.cells.validation import in_share

source, out = sys.argv[1], sys.argv[2]
rows, colours = [], []
for record in load_dataset(source):
    if not in_share(record, "development") or not record.extra.get("granule_colour"):
        continue
    rgb = read_image(record.image)
    found = segment_cell(rgb)
    if not found.found:
        continue
    background, _ = background_colour(rgb, found.cell_mask)
    measures = granule_measures(rgb, found.nucleus_mask, found.cell_mask, background)
    inputs = model_inputs(measures)
    if np.isfinite(inputs[:BASE_INPUTS]).all():
        rows.append(inputs)
        colours.append(record.extra["granule_colour"])
X, y = np.array(rows), np.array(colours)
median = np.nanmedian(X, axis=0)
X = np.where(np.isfinite(X), X, median)
pipeline = make_pipeline(StandardScaler(), LogisticRegression(C=10, max_iter=5000))
cv = cross_val_score(pipeline, X, y, cv=5)
pipeline.fit(X, y)
scaler, model = pipeline.named_steps["standardscaler"], pipeline.named_steps["logisticregression"]
result = {"inputs": list(MODEL_INPUTS), "classes": model.classes_.tolist(), "median": median.tolist(), "mean": scaler.mean_.tolist(),
          "scale": scaler.scale_.tolist(), "coef": model.coef_.tolist(), "intercept": model.intercept_.tolist(),
          "trained": {"command": " ".join(sys.argv), "commit": subprocess.run(
              ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip(),
              "share": "pbc development", "n": len(y), "cv5_accuracy_development": float(cv.mean())}}
atomic_write_text(out, json.dumps(result, indent=1) + "\n")
print(json.dumps(result["trained"], indent=1))
