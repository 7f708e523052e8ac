"""Issue 12, round 2: the documented cross-lab recipe (cell framing, reinhard-square, cross-lab
augmentation, 15 epochs, seed 1, one thread) trained on all of pbc, scored on jtsc and bccd as is and
with batch-norm statistics re-estimated on each target (``adapt_batch_norm``, what ``--adapt-bn`` does), and
with them re-estimated on a resample balanced by the model's own predictions (2 rounds, seed 1),
with the evaluation engine's bootstrap (1000, seed 1). Input: the cached crops of ``load_crops``
(/tmp/i12c/{lab}_reinhard-square.npz, ../cnn_exploration/prep3.py). Writes one JSON (argv[1])."""
import sys, json, time, subprocess, numpy as np
sys.path.insert(0, "/work/wt-i12")
from dataclasses import replace
from wekawbc.cells.dataset import CLASSES
from wekawbc.cnn.settings import AUGMENTATIONS, TrainSettings
from wekawbc.cnn.training import adapt_batch_norm, predict_proba, train_cnn
from wekawbc.evaluation import evaluate
from wekawbc.predictions import Predictions
from wekawbc.provenance import library_versions

aug = sys.argv[2] if len(sys.argv) > 2 else "cross-lab"
modes = [False, True, "balanced"]
settings = replace(TrainSettings(), framing="cell", stain="reinhard-square", augmentation=AUGMENTATIONS[aug],
                   epochs=15, threads=1)
load = lambda lab: (lambda d: (d["X"], d["y"]))(np.load(f"/tmp/i12c/{lab}_reinhard-square.npz"))
t = time.time()
X, y = load("pbc")
model = train_cnn(X, y, CLASSES, settings)
doc = {"code_commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                     cwd="/work/wt-i12").stdout.strip(),
       "command": " ".join(["python", *sys.argv]), "settings": settings.to_dict(), "versions": library_versions(),
       "train": {"lab": "pbc", "n": int(len(y)), "best_epoch": model.best_epoch, "stop": model.stop_reason,
                 "seconds": round(time.time() - t)}, "results": []}
counts = np.bincount(y, minlength=5).astype(float)[None, :]


def adabn_balanced(model, X, rounds=2):
    """AdaBN on a resample of X drawn to equal predicted classes (the model's own predictions, no labels)."""
    current = adapt_batch_norm(model, X, threads=1)
    rng = np.random.default_rng(1)
    for _ in range(rounds):
        pred = predict_proba(current, X, threads=1).argmax(1)
        w = 1.0 / np.bincount(pred, minlength=5)[pred]
        current = adapt_batch_norm(model, X[rng.choice(len(X), size=len(X), p=w / w.sum())], threads=1)
    return current


for lab in ("jtsc", "bccd"):
    Xt, yt = load(lab)
    for adapt in modes:
        if adapt == "balanced":
            scorer = adabn_balanced(model, Xt)
        else:
            scorer = adapt_batch_norm(model, Xt, threads=1) if adapt else model
        p = predict_proba(scorer, Xt, threads=1)
        preds = Predictions(CLASSES, yt, p, None, np.zeros(len(yt), dtype=np.int64), counts,
                            tuple(str(i) for i in range(len(yt))))
        result = evaluate(preds)
        b = result.bootstrap(1000, seed=1)["metrics"]
        doc["results"].append({"test": lab, "adapt_bn": adapt, "n": int(len(yt)), "accuracy": result.pct_correct / 100,
                               "bootstrap": {k: {q: b[k][q] for q in ("estimate", "low", "high")} for k in ("accuracy", "macro_f1")},
                               "confusion_matrix": result.confusion_matrix.tolist() if hasattr(result, "confusion_matrix") else None,
                               "labels": list(CLASSES)})
        print(lab, adapt, doc["results"][-1]["bootstrap"], flush=True)
open(sys.argv[1], "w").write(json.dumps(doc, indent=1, default=float))
