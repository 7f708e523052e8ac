"""Scratch: cache per-image windows for cross-lab exploration."""
import sys, numpy as np, cv2, time
sys.path.insert(0, "/work/wt-i12c")
from wekawbc.cells.dataset import load_dataset, read_image, CLASSES
from wekawbc.cells.segmentation import segment_cell
from wekawbc.cells.validation import truth_boxes

SIZE = 96          # cached window side (px)
CONTEXT = 2.4      # cached window side in cell diameters

def window(image, cx, cy, side, size, border):
    half = side / 2.0
    M = np.array([[size / side, 0, -(cx - half) * size / side], [0, size / side, -(cy - half) * size / side]])
    return cv2.warpAffine(image, M, (size, size), flags=cv2.INTER_AREA if side > size else cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)

def run(name):
    ds = load_dataset(f"/work/shared/datasets/{name}" if False else f"/work/wt-i12c/../shared/datasets/{name}")
    out = {"win": [], "mask": [], "centre": [], "y": [], "ids": [], "diam": [], "found": [], "shape": []}
    t = time.time()
    for r in ds.records:
        if not r.label: continue
        im = read_image(r.image)
        if name == "bccd":
            boxes = truth_boxes(r)
            if len(boxes) != 1: continue
            x0, y0, x1, y1 = boxes[0]
            s = max(x1 - x0, y1 - y0) * 1.5
            cx0, cy0 = (x0 + x1) / 2, (y0 + y1) / 2
            crop = window(im, cx0, cy0, s, int(round(s)), None)
            im = crop
        seg = segment_cell(im)
        rows, cols = im.shape[:2]
        if seg.found:
            ys, xs = np.nonzero(seg.cell_mask)
            cx, cy = xs.mean(), ys.mean(); d = 2 * np.sqrt(seg.cell_mask.sum() / np.pi)
        else:
            cx, cy, d = cols / 2, rows / 2, min(rows, cols) * 0.6
        out["found"].append(seg.found)
        out["win"].append(window(im, cx, cy, CONTEXT * d, SIZE, None))
        m = (seg.cell_mask.astype(np.uint8) * 255)
        out["mask"].append(window(m, cx, cy, CONTEXT * d, SIZE, None))
        # baseline: centre 0.7 of shorter side at 48
        side = int(round(min(rows, cols) * 0.7)); top, left = (rows - side) // 2, (cols - side) // 2
        out["centre"].append(cv2.resize(im[top:top+side, left:left+side], (48, 48), interpolation=cv2.INTER_AREA))
        out["y"].append(CLASSES.index(r.label)); out["ids"].append(str(r.image)); out["diam"].append(d)
        out["shape"].append(min(rows, cols))
    np.savez_compressed(f"/tmp/i12c/{name}.npz", **{k: np.asarray(v) for k, v in out.items()})
    print(name, len(out["y"]), "found", np.mean(out["found"]), "diam med", np.median(out["diam"]),
          "diam/side med", np.median(np.array(out["diam"]) / np.array(out["shape"])), f"{time.time()-t:.0f}s", flush=True)

for name in sys.argv[1:]:
    run(name)
