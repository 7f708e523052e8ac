import sys, numpy as np, time
sys.path.insert(0, "/work/wt-i12c")
from wekawbc.cnn.images import load_crops
stain = sys.argv[1]
for name in ["jtsc", "bccd", "pbc"]:
    t = time.time()
    c = load_crops(f"/work/shared/datasets/{name}", framing="cell", stain=stain, image_size=48, cell_context=1.6)
    keep = c.y >= 0
    np.savez_compressed(f"/tmp/i12c/{name}_{stain}.npz", X=c.images[keep], y=c.y[keep])
    print(name, stain, keep.sum(), f"{time.time()-t:.0f}s", flush=True)
