"""Scratch: cache stain-normalised and µm-scaled windows."""
import sys, numpy as np, cv2, time
sys.path.insert(0, "/work/wt-i12c")
from wekawbc.cells.dataset import load_dataset, read_image, CLASSES
from wekawbc.cells.segmentation import segment_cell
from wekawbc.cells.validation import truth_boxes
from wekawbc.cells.stain import normalise_stain
from wekawbc.cells.scale import estimate_scale
sys.path.insert(0, "/tmp/i12c")
SIZE, CONTEXT, UM = 96, 2.4, 30.0

def window(image, cx, cy, side, size):
    half = side / 2.0
    M = np.array([[size / side, 0, -(cx - half) * size / side], [0, size / side, -(cy - half) * size / side]])
    return cv2.warpAffine(image, M, (size, size), flags=cv2.INTER_AREA if side > size else cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)

def run(name):
    ds = load_dataset(f"/work/wt-i12c/../shared/datasets/{name}")
    out = {k: [] for k in ["wb", "rh", "um", "um_rh", "ump", "src", "y"]}
    t = time.time()
    for r in ds.records:
        if not r.label: continue
        im = read_image(r.image)
        if name == "bccd":
            boxes = truth_boxes(r)
            if len(boxes) != 1: continue
            x0, y0, x1, y1 = boxes[0]; s = max(x1 - x0, y1 - y0) * 1.5
            im = window(im, (x0 + x1) / 2, (y0 + y1) / 2, s, int(round(s)))
        seg = segment_cell(im)
        ys, xs = np.nonzero(seg.cell_mask); cx, cy = xs.mean(), ys.mean(); d = 2 * np.sqrt(seg.cell_mask.sum() / np.pi)
        wb = normalise_stain(im, "white-balance", seg.cell_mask).rgb
        rh = normalise_stain(im, "reinhard", seg.cell_mask).rgb
        sc = estimate_scale(im, seg.cell_mask)
        out["wb"].append(window(wb, cx, cy, CONTEXT * d, SIZE)); out["rh"].append(window(rh, cx, cy, CONTEXT * d, SIZE))
        side = UM / sc.um_per_pixel
        out["um"].append(window(im, cx, cy, side, SIZE)); out["um_rh"].append(window(rh, cx, cy, side, SIZE))
        out["ump"].append(sc.um_per_pixel); out["src"].append(sc.source); out["y"].append(CLASSES.index(r.label))
    np.savez_compressed(f"/tmp/i12c/{name}_2.npz", **{k: np.asarray(v) for k, v in out.items()})
    ump = np.array(out["ump"]); src = np.array(out["src"])
    print(name, len(out["y"]), "um/px median", np.median(ump), "IQR", np.percentile(ump, [25, 75]),
          {s: int((src == s).sum()) for s in set(src)}, f"{time.time()-t:.0f}s", flush=True)

for name in sys.argv[1:]:
    run(name)
