"""Scratch exploration (issue 12, round 2): train on pbc caches, score on bccd (the tuning set)
without and with batch-norm statistics re-estimated on the target lab (AdaBN); jtsc only with --report.

Caches: /tmp/i12c/{name}.npz (96 px windows of 2.4 cell diameters, raw colour) and
/tmp/i12c/{name}_reinhard-square.npz (the package's cell framing + reinhard-square, 48 px), made by
../cnn_exploration/prep.py and prep3.py.
"""
import sys, json, time, argparse, copy, numpy as np, cv2, torch
sys.path.insert(0, "/work/wt-i12")
from dataclasses import replace
from sklearn.metrics import f1_score, accuracy_score
from wekawbc.cnn.settings import TrainSettings, Augmentation
from wekawbc.cnn.training import train_cnn, predict_proba
from wekawbc.cells.dataset import CLASSES

ap = argparse.ArgumentParser()
ap.add_argument("--name"); ap.add_argument("--input", default="rsq")  # rsq | cell
ap.add_argument("--size", type=int, default=48); ap.add_argument("--colour", default="none")  # none|grey|hema
ap.add_argument("--aug", default="{}"); ap.add_argument("--epochs", type=int, default=8)
ap.add_argument("--report", action="store_true"); ap.add_argument("--train-every", type=int, default=2)
ap.add_argument("--out", default="/tmp/i12x/results.jsonl"); ap.add_argument("--seed", type=int, default=1)
a = ap.parse_args()


def colour(X):
    if a.colour == "none":
        return X
    if a.colour == "grey":
        g = np.stack([cv2.cvtColor(x, cv2.COLOR_RGB2GRAY) for x in X]); return np.repeat(g[..., None], 3, axis=3)
    if a.colour == "hema":  # haematoxylin density only, as a grey image
        from skimage.color import rgb2hed
        h = np.stack([rgb2hed(x)[..., 0] for x in X])
        lo, hi = np.percentile(h, [1, 99.5], axis=(1, 2), keepdims=True)
        g = (255 * (1 - np.clip((h - lo) / (hi - lo + 1e-6), 0, 1))).astype(np.uint8)
        return np.repeat(g[..., None], 3, axis=3)
    raise SystemExit(a.colour)


def inputs(name):
    if a.input == "rsq":
        d = np.load(f"/tmp/i12c/{name}_reinhard-square.npz"); return colour(d["X"]), d["y"]
    d = np.load(f"/tmp/i12c/{name}.npz"); W = d["win"]; full = W.shape[1]; side = int(round(full * 1.6 / 2.4))
    o = (full - side) // 2
    X = np.stack([cv2.resize(w[o:o + side, o:o + side], (a.size, a.size), interpolation=cv2.INTER_AREA) for w in W])
    return colour(X), d["y"]


def adabn(model, X):
    """A copy of the model whose batch-norm statistics are those of X (one pass, exact mean/var)."""
    m2 = copy.deepcopy(model)
    net = m2.network
    for mod in net.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.reset_running_stats(); mod.momentum = None
    mean = torch.tensor(model.preprocessing.mean).view(1, 3, 1, 1); std = torch.tensor(model.preprocessing.std).view(1, 3, 1, 1)
    t = torch.from_numpy(X).permute(0, 3, 1, 2).float() / 255.0
    net.train()
    with torch.no_grad():
        net.features((t - mean) / std)
    net.eval()
    return m2


def adabn_balanced(model, X, rounds=2):
    """AdaBN on a resample of X drawn to equal predicted classes (the model's own predictions, no labels)."""
    current = adabn(model, X)
    rng = np.random.default_rng(1)
    for _ in range(rounds):
        pred = predict_proba(current, X, threads=1).argmax(1)
        w = 1.0 / np.bincount(pred, minlength=5)[pred]
        pick = rng.choice(len(X), size=len(X), replace=True, p=w / w.sum())
        current = adabn(model, X[pick])
    return current


def score(model, X, y):
    p = predict_proba(model, X, threads=1).argmax(1)
    return {"acc": accuracy_score(y, p), "macro_f1": f1_score(y, p, average="macro", labels=sorted(set(y))),
            "pred_counts": np.bincount(p, minlength=5).tolist(), "true_counts": np.bincount(y, minlength=5).tolist()}


torch.set_num_threads(1)
t = time.time()
Xp, yp = inputs("pbc"); Xp, yp = Xp[::a.train_every], yp[::a.train_every]
aug = Augmentation(**json.loads(a.aug))
st = replace(TrainSettings(), epochs=a.epochs, image_size=a.size, threads=1, augmentation=aug, patience=4, seed=a.seed)
model = train_cnn(Xp, yp, CLASSES, st)
res = {"name": a.name, "args": vars(a), "best_epoch": model.best_epoch,
       "pbc_val_acc": model.history[model.best_epoch - 1]["val_accuracy"], "train_s": round(time.time() - t)}
for tgt in ["bccd"] + (["jtsc"] if a.report else []):
    X, y = inputs(tgt)
    res[tgt] = score(model, X, y)
    res[tgt + "_adabn"] = score(adabn(model, X), X, y)
    res[tgt + "_adabn_bal"] = score(adabn_balanced(model, X), X, y)
line = json.dumps(res)
open(a.out, "a").write(line + "\n")
print(line, flush=True)
