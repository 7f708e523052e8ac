"""Scratch exploration (issue 12, round 4): the cell's own pixels as the input.

Train on every second pbc image (1750), 8 epochs, patience 4, 48 px, one thread; score bccd (the
tuning set) as is, with AdaBN and with balanced AdaBN; jtsc only with --report. Inputs: the cached
framed squares of prep.py (cell framing 1.6 diameters, 96 px raw, cell and nucleus masks from
wekawbc.cnn.images.frame_image) normalised by wekawbc.cnn.images.normalise_square, then resized
to 48 px exactly as prepare_input does.
"""
import sys, json, time, argparse, copy, numpy as np, cv2, torch
sys.path.insert(0, "/work/wt-i12c")
from dataclasses import replace
from sklearn.metrics import f1_score, accuracy_score
from wekawbc.cnn.images import FramedSquare, normalise_square
from wekawbc.cnn.settings import TrainSettings, Augmentation, AUGMENTATIONS
from wekawbc.cnn.training import train_cnn, predict_proba
from wekawbc.cells.dataset import CLASSES

ap = argparse.ArgumentParser()
ap.add_argument("--name"); ap.add_argument("--stain", default="reinhard-square"); ap.add_argument("--masked", action="store_true")
ap.add_argument("--aug", default="cross-lab"); ap.add_argument("--channels", default="rgb"); ap.add_argument("--epochs", type=int, default=8)  # channels: rgb | shape
ap.add_argument("--report", action="store_true"); ap.add_argument("--train-every", type=int, default=2)
ap.add_argument("--out", default="/tmp/i12c3/results.jsonl"); ap.add_argument("--seed", type=int, default=1)
a = ap.parse_args()


def square(r, c, n):
    x = normalise_square(FramedSquare(r, c, n, True), a.stain, a.masked)
    if a.channels == "shape":  # luminance, nucleus mask, cell mask: no colour at all, the nucleus's shape explicit
        x = np.dstack([cv2.cvtColor(x, cv2.COLOR_RGB2GRAY), n.astype(np.uint8) * 255, c.astype(np.uint8) * 255])
    return cv2.resize(x, (48, 48), interpolation=cv2.INTER_AREA)


def inputs(name):
    d = np.load(f"/tmp/i12c3/{name}.npz")
    X = np.stack([square(r, c, n) for r, c, n in zip(d["rgb"], d["cell"], d["nucleus"])])
    return X, d["y"]


def adabn(model, X):
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
aug = AUGMENTATIONS[a.aug] if a.aug in AUGMENTATIONS else Augmentation(**json.loads(a.aug))
st = replace(TrainSettings(), epochs=a.epochs, image_size=48, threads=1, augmentation=aug, patience=4, seed=a.seed)
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
