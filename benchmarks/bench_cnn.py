"""CNN training time on 3,500 crops and inference throughput, beside Weka's RandomForest on their features.

Data: all 3,500 crops of ``../shared/datasets/pbc`` (``WEKAWBC_DATASETS`` overrides the root).
CNN: ``wekawbc cnn train`` defaults (``TrainSettings()``), one torch thread (``WEKAWBC_BENCH_THREADS``). Inference: crops per
second on preloaded crops (the network alone) and from the image files (reading and resizing
included). Peer: Weka's RandomForest (``-I 100``) trained on the handcrafted features of the
1,000 crops of the paper's class mix (``wekawbc cnn subsample --class-counts paper`` then
``wekawbc extract``; ``WEKAWBC_PBC_ARFF`` names that ARFF), beside the CNN trained on the same
1,000 crops. Features of all 3,500 crops take about an hour to extract on the shared 2-core machine,
so the peer runs on the 1,000; without the ARFF the benchmark says so.
"""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

__all__ = ["main"]

_ROOT = Path(__file__).resolve().parent.parent
_DATASETS = Path(os.environ.get("WEKAWBC_DATASETS", _ROOT.parent / "shared" / "datasets"))
# One torch thread: on a 2-core machine shared with other processes, two OpenMP threads spend much of
# their CPU time spin-waiting for each other (measured: 781 s CPU with 2 threads for this training).
_THREADS = int(os.environ.get("WEKAWBC_BENCH_THREADS", "1"))
_RANDOM_FOREST = "weka.classifiers.trees.RandomForest -P 100 -I 100 -num-slots 1 -K 0 -M 1.0 -V 0.001 -S 1"


def _weka_random_forest(arff: Path) -> tuple[float, int, int]:
    from wekawbc.weka import jvm, load_instances
    from wekawbc.weka.run import make_classifier

    jvm.start()
    data = load_instances(arff)
    classifier = make_classifier(_RANDOM_FOREST)
    started = time.perf_counter()
    classifier.buildClassifier(data.jobject)
    return time.perf_counter() - started, data.num_instances, data.num_attributes - 1


def main() -> str:
    import numpy as np

    from wekawbc.cnn.images import load_crops
    from wekawbc.protocol.subsample import PAPER_TABLE2_COUNTS, subsample_counts
    from wekawbc.cnn.training import TrainSettings, predict_proba, train_cnn

    pbc = _DATASETS / "pbc"
    if not pbc.is_dir():
        return f"## CNN training and inference\n\nskipped: {pbc} not found\n"
    settings = TrainSettings(threads=_THREADS)
    started = time.perf_counter()
    crops = load_crops(pbc, image_size=settings.image_size, crop_fraction=settings.crop_fraction)
    reading = time.perf_counter() - started
    load_before = os.getloadavg()[0]
    started, cpu_started = time.perf_counter(), time.process_time()
    model = train_cnn(crops.images, crops.y, crops.labels, settings)
    training, training_cpu = time.perf_counter() - started, time.process_time() - cpu_started
    load_after = os.getloadavg()[0]
    started = time.perf_counter()
    distribution = predict_proba(model, crops.images, threads=_THREADS)
    network_rate = len(crops) / (time.perf_counter() - started)
    files = crops.ids[:500]
    started = time.perf_counter()
    sample = load_crops(list(files), image_size=settings.image_size, crop_fraction=settings.crop_fraction)
    predict_proba(model, sample.images, threads=_THREADS)
    file_rate = len(files) / (time.perf_counter() - started)
    accuracy = float(np.mean(distribution.argmax(1) == crops.y))

    arff = os.environ.get("WEKAWBC_PBC_ARFF")
    if arff and Path(arff).is_file():
        subset = subsample_counts([crops.labels[c] for c in crops.y], PAPER_TABLE2_COUNTS, seed=1)
        started = time.perf_counter()
        train_cnn(crops.images[subset], crops.y[subset], crops.labels, settings)
        cnn_subset = time.perf_counter() - started
        forest, n_rows, n_features = _weka_random_forest(Path(arff))
        peer = (f"| CNN training, the {subset.size} crops of the paper's mix | {cnn_subset:.0f} s |\n"
                f"| peer: Weka RandomForest `-I 100` training on the same {n_rows} crops' {n_features} handcrafted "
                f"features (`{Path(arff).name}`) | {forest:.1f} s |")
    else:
        peer = ("| peer: Weka RandomForest on the crops' features | not measured: set WEKAWBC_PBC_ARFF to the ARFF "
                "of `wekawbc cnn subsample ... --class-counts paper -o DIR` + `wekawbc extract DIR -o X.arff` |")
    epochs = len(model.history)
    return "\n".join([
        "## CNN training and inference (`python3 -m benchmarks cnn`)",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores shared with other work; torch {_THREADS} thread(s). "
        f"Data: {len(crops)} pbc crops at {settings.image_size} px. Load average {load_before:.1f} before and "
        f"{load_after:.1f} after training (other processes competing for the 2 cores inflate wall times).",
        "",
        "| what | time / rate |",
        "|---|---|",
        f"| reading and resizing {len(crops)} crops (`load_crops`) | {reading:.1f} s |",
        f"| CNN training, {len(crops)} crops, defaults ({epochs} epochs run, {model.stop_reason}) | "
        f"{training:.0f} s wall ({training / 60:.1f} min; target <= 15 min), {training_cpu:.0f} s CPU |",
        f"| CNN inference, preloaded crops | {network_rate:.0f} crops/s (target >= 100) |",
        f"| CNN inference from image files (read + resize + network), 500 crops | {file_rate:.0f} crops/s |",
        peer,
        "",
        f"(Training accuracy of the benchmark model on its own crops: {accuracy:.3f}; not an evaluation.)",
        "",
    ])
