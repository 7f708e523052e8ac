"""Issue 12, round 4: the recipe chosen on pbc -> bccd trained on all of pbc (15 epochs, seed 1, one
thread), scored on bccd and jtsc as is, with AdaBN and with balanced AdaBN (what ``--adapt-bn`` and
``--adapt-bn balanced`` do), with the evaluation engine's bootstrap (1000, seed 1).

Input: the framed squares cached by prep.py (``frame_image`` at 96 px), normalised by
``normalise_square`` and resized exactly as ``prepare_input`` does.
Usage: final4.py OUT.json STAIN MASKED(0|1) AUGMENT_JSON_OR_PRESET [SEED]
"""
import sys, json, time, subprocess, numpy as np, cv2
sys.path.insert(0, "/work/wt-i12c")
from dataclasses import replace
from wekawbc.cells.dataset import CLASSES
from wekawbc.cnn.images import FramedSquare, normalise_square
from wekawbc.cnn.settings import AUGMENTATIONS, Augmentation, TrainSettings
from wekawbc.cnn.training import adapt_batch_norm, predict_proba, train_cnn
from wekawbc.evaluation import evaluate
from wekawbc.predictions import Predictions
from wekawbc.provenance import library_versions

out, stain, masked, aug = sys.argv[1], sys.argv[2], sys.argv[3] == "1", sys.argv[4]
seed = int(sys.argv[5]) if len(sys.argv) > 5 else 1
augmentation = AUGMENTATIONS[aug] if aug in AUGMENTATIONS else Augmentation(**json.loads(aug))
settings = replace(TrainSettings(), framing="cell-masked" if masked else "cell", stain=stain,
                   augmentation=augmentation, epochs=15, threads=1, seed=seed)


def load(lab):
    d = np.load(f"/tmp/i12c3/{lab}.npz")
    X = np.stack([cv2.resize(normalise_square(FramedSquare(r, c, n, True), stain, masked), (48, 48),
                             interpolation=cv2.INTER_AREA) for r, c, n in zip(d["rgb"], d["cell"], d["nucleus"])])
    return X, d["y"]


t = time.time()
X, y = load("pbc")
model = train_cnn(X, y, CLASSES, settings)
doc = {"code_commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                     cwd="/work/wt-i12c").stdout.strip(),
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


for lab in ("bccd", "jtsc"):
    Xt, yt = load(lab)
    for adapt in (False, True, "balanced"):
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
                               "confusion_matrix": result.confusion_matrix.tolist(),
                               "labels": list(CLASSES)})
        print(lab, adapt, doc["results"][-1]["bootstrap"], flush=True)
open(out, "w").write(json.dumps(doc, indent=1, default=float))
