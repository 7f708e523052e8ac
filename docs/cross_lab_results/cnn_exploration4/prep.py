"""Cache framed squares (cell framing 1.6 diameters, 96 px raw) with cell and nucleus masks."""
import sys, time, numpy as np
sys.path.insert(0, "/work/wt-i12c")
from wekawbc.cells.dataset import load_dataset, read_image, CLASSES
from wekawbc.cnn.images import frame_image, _field_box
from wekawbc._io import WekawbcError
for name in sys.argv[1:]:
    t = time.time(); ds = load_dataset(f"/work/shared/datasets/{name}")
    R, C, N, y = [], [], [], []
    for r in ds.records:
        if not r.label: continue
        try: box = _field_box(r)
        except WekawbcError: continue
        f = frame_image(read_image(r.image), size=96, framing="cell", stain="nucleus-relative", box=box)
        R.append(f.rgb); C.append(f.cell); N.append(f.nucleus); y.append(CLASSES.index(r.label))
    np.savez_compressed(f"/tmp/i12c3/{name}.npz", rgb=np.stack(R), cell=np.stack(C), nucleus=np.stack(N), y=np.array(y))
    print(name, len(y), f"{time.time()-t:.0f}s", flush=True)
