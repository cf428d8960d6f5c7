"""How reading over views was chosen: each digit's 28x28 read as it is and over
:func:`mnist_cnn.vision.normalise.views`, on tuning data only.

    python benchmarks/explore_views.py [--per-kind 300]

Tuning data: ``--per-kind`` MNIST *training* digits (from the first 54,000)
per kind of the stress corpus (dark on light), the first 900 UCI digits (the
ones ``bench_handwriting.py`` does not report) upscaled bilinear and nearest,
and the 6,000 held-out training digits as they are. Each goes through
``preprocess`` with the packaged model, then the same 28x28 is classified as
it is and over its views. Writes ``benchmarks/results/<timestamp>-explore-views.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_handwriting import UCI_LOOKED_AT  # noqa: E402

from mnist_cnn.data import datasets  # noqa: E402
from mnist_cnn.errors import ImageError  # noqa: E402
from mnist_cnn.inference import Predictor  # noqa: E402
from mnist_cnn.training.real_writers import uci_pictures  # noqa: E402
from mnist_cnn.vision import normalise, variants  # noqa: E402

RESULTS = HERE / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-kind", type=int, default=300)
    args = parser.parse_args()
    predictor = Predictor.load("default")
    (x, y), _ = datasets.load_mnist(progress=False)
    pick = np.random.default_rng(5).choice(54_000, args.per_kind, replace=False)

    def normalised(sources) -> np.ndarray:
        out = []
        for source in sources:
            try:
                out.append(normalise.preprocess(source, classify=predictor.predict_proba).image28)
            except ImageError:
                out.append(np.zeros((28, 28), np.float32))
        return np.stack(out)

    kinds: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, variant in variants.VARIANTS.items():
        if not name.endswith("_light"):
            rng = np.random.default_rng(0)
            kinds[name] = normalised([variant(x[i], rng) for i in pick]), y[pick]
    try:
        from sklearn.datasets import load_digits

        uci = load_digits()
        looked_at = uci.images[:UCI_LOOKED_AT]
        for name, resample in (("uci_bilinear", Image.BILINEAR), ("uci_nearest", Image.NEAREST)):
            sources = uci_pictures(looked_at, resample)
            kinds[name] = normalised(sources), uci.target[:UCI_LOOKED_AT]
    except ImportError:
        print("scikit-learn is not installed: no UCI digits")
    kinds["held_out_mnist"] = x[54_000:].astype(np.float32) / 255.0, y[54_000:]

    rows = {}
    for name, (images, labels) in kinds.items():
        as_is = predictor.predict_proba(images).argmax(axis=1)
        viewed = normalise.classify_views(predictor.predict_proba, images).argmax(axis=1)
        rows[name] = {
            "count": len(labels),
            "as_is_right": int((as_is == labels).sum()),
            "views_right": int((viewed == labels).sum()),
        }
        print(f"{name:22s} {json.dumps(rows[name])}", flush=True)
    started = dt.datetime.now()
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{started:%Y%m%d-%H%M%S}-explore-views.json"
    report = {
        "views": {"zooms": normalise.VIEW_ZOOMS, "turns": normalise.VIEW_TURNS},
        "per_kind": args.per_kind,
        "kinds": rows,
    }
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
