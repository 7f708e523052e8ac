"""Scratch exploration: train on pbc caches, score on bccd (tuning set); jtsc only with --report."""
import sys, json, time, argparse, numpy as np, cv2, torch
sys.path.insert(0, "/work/wt-i12c")
from dataclasses import replace
from sklearn.metrics import f1_score, accuracy_score, confusion_matrix
from wekawbc.cnn.settings import TrainSettings, Augmentation
from wekawbc.cnn.training import train_cnn, predict_proba
from wekawbc.cells.dataset import CLASSES

ap = argparse.ArgumentParser()
ap.add_argument("--name"); ap.add_argument("--input", default="cell"); ap.add_argument("--context", type=float, default=1.6)
ap.add_argument("--size", type=int, default=48); ap.add_argument("--colour", default="none"); ap.add_argument("--mask", type=float, default=0)
ap.add_argument("--norm", default="batch"); ap.add_argument("--aug", default="{}"); ap.add_argument("--epochs", type=int, default=8)
ap.add_argument("--report", action="store_true"); ap.add_argument("--train-every", type=int, default=1)
a = ap.parse_args()

def inputs(name):
    d = np.load(f"/tmp/i12c/{name}.npz")
    if a.input.startswith("prod_"):
        d3 = np.load(f"/tmp/i12c/{name}_{a.input[5:]}.npz"); return colour(d3["X"]), d3["y"]
    if a.input in ("wb", "rh", "um", "um_rh"):
        d2 = np.load(f"/tmp/i12c/{name}_2.npz"); W = d2[a.input]
        full = W.shape[1]; side = int(round(full * a.context / 2.4)) if a.input in ("wb", "rh") else full; o = (full - side) // 2
        X = colour(np.stack([cv2.resize(w[o:o+side, o:o+side], (a.size, a.size), interpolation=cv2.INTER_AREA) for w in W]))
        return X, d2["y"]
    if a.input == "centre":
        X = d["centre"] if a.size == 48 else None
    else:
        W = d["win"]; M = d["mask"]; full = W.shape[1]; side = int(round(full * a.context / 2.4)); o = (full - side) // 2
        X = np.stack([cv2.resize(w[o:o+side, o:o+side], (a.size, a.size), interpolation=cv2.INTER_AREA) for w in W])
        Mk = np.stack([cv2.resize(m[o:o+side, o:o+side], (a.size, a.size), interpolation=cv2.INTER_AREA) for m in M])
        if a.mask:
            out = []
            for x, m in zip(X, Mk):
                k = max(1, int(a.mask * a.size / 48))
                mm = cv2.dilate((m > 127).astype(np.uint8), np.ones((2*k+1, 2*k+1), np.uint8))
                bg = np.median(x[mm == 0], axis=0) if (mm == 0).any() else np.array([255, 255, 255])
                soft = cv2.GaussianBlur(mm.astype(np.float32), (0, 0), k)[..., None]
                out.append((x * soft + bg * (1 - soft)).astype(np.uint8))
            X = np.stack(out)
    X = colour(X)
    return X, d["y"]

def colour(X):
    if a.colour == "none": return X
    if a.colour == "grey":
        g = np.stack([cv2.cvtColor(x, cv2.COLOR_RGB2GRAY) for x in X]); return np.repeat(g[..., None], 3, axis=3)
    if a.colour == "lab":
        out = []
        for x in X:
            lab = cv2.cvtColor(x, cv2.COLOR_RGB2LAB).astype(np.float32)
            m, s = lab.reshape(-1, 3).mean(0), lab.reshape(-1, 3).std(0) + 1e-3
            tgt_m, tgt_s = np.array([180, 140, 120.]), np.array([40, 12, 10.])
            out.append(cv2.cvtColor(np.clip((lab - m) / s * tgt_s + tgt_m, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB))
        return np.stack(out)
    raise SystemExit(a.colour)

t = time.time()
Xp, yp = inputs("pbc"); Xp, yp = Xp[::a.train_every], yp[::a.train_every]
aug = Augmentation(**json.loads(a.aug))
st = replace(TrainSettings(), epochs=a.epochs, image_size=a.size, threads=1, norm=a.norm, augmentation=aug, patience=4)
model = train_cnn(Xp, yp, CLASSES, st)
res = {"name": a.name, "args": vars(a), "best_epoch": model.best_epoch, "pbc_val_acc": model.history[model.best_epoch-1]["val_accuracy"],
       "train_s": round(time.time() - t)}
for tgt in ["bccd"] + (["jtsc"] if a.report else []):
    X, y = inputs(tgt); p = predict_proba(model, X, threads=1).argmax(1)
    res[tgt] = {"acc": accuracy_score(y, p), "macro_f1": f1_score(y, p, average="macro", labels=sorted(set(y))),
                "pred_counts": np.bincount(p, minlength=5).tolist(), "true_counts": np.bincount(y, minlength=5).tolist()}
line = json.dumps(res)
open("/tmp/i12c/report.jsonl" if a.report else "/tmp/i12c/results.jsonl", "a").write(line + "\n")
print(line, flush=True)
