"""Every JPEG under the shared data sets: OpenCV's RGB decoding (IMREAD_COLOR_RGB) vs its BGR decoding converted to RGB.

Run: ``python3 docs/results/i18feat5/jpeg_rgb_check.py /work/shared/datasets > docs/results/i18feat5/jpeg_rgb_check.txt``
"""

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np


def main() -> None:
    cv2.setNumThreads(1)
    root = Path(sys.argv[1])
    paths = sorted(p for p in root.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg"))
    differing = 0
    for path in paths:
        data = np.fromfile(path, np.uint8)
        bgr = cv2.imdecode(data, cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
        rgb = cv2.imdecode(data, cv2.IMREAD_COLOR_RGB | cv2.IMREAD_IGNORE_ORIENTATION)
        same = (bgr is None and rgb is None) or (
            bgr is not None and rgb is not None and np.array_equal(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), rgb))
        if not same:
            differing += 1
            print("differs:", path)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    print(f"commit {commit}; OpenCV {cv2.__version__}; JPEG files {len(paths)}; differing {differing}")


if __name__ == "__main__":
    main()
