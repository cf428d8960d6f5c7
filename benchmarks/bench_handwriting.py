"""How well real-looking inputs are read: preprocessing + model, on hard variants of MNIST.

    .venv/bin/python benchmarks/bench_handwriting.py [--model default] [--per-variant 500]

For each variant used by ``tests/test_preprocess.py`` (inverted, scaled into
300x300, off-centre, gradient and grid backgrounds, salt noise, thick and thin
strokes, RGB JPEG, RGBA), ``--per-variant`` MNIST *test* digits are
transformed and classified two ways:

* ``mnist-cnn``: :func:`mnist_cnn.preprocess.to_mnist`, then the model;
* ``naive``: what most tutorials' users do: grayscale, resize the whole image
  to 28x28, invert when the picture is mostly light, divide by 255.

It also composes ``--numbers`` multi-digit numbers from test digits (2-8
digits, varied gaps, slight overlaps; in samples of 200 drawn as
``tests/test_reading.py`` draws its one) and reads them with
:func:`mnist_cnn.reading.read_number`, with the packaged segment verifier and
without it.
Results go to ``benchmarks/results/handwriting-<model>.json``. These inputs
are synthetic: they test the pipeline's invariances, not real writers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import test_preprocess as variants_module  # noqa: E402
from mnist_cnn import datasets, preprocess, reading, synthetic  # noqa: E402
from mnist_cnn.inference import Predictor  # noqa: E402
from mnist_cnn.verifier import Verifier  # noqa: E402


def naive(source) -> np.ndarray:
    """Resize the whole picture to 28x28 (the common tutorial recipe), inverting light paper."""
    if isinstance(source, bytes):
        image = Image.open(io.BytesIO(source))
        if image.mode == "RGBA":
            background = Image.new("RGBA", image.size, (255, 255, 255, 255))
            image = Image.alpha_composite(background, image)
        image = image.convert("L")
    else:
        image = Image.fromarray(np.asarray(source, dtype=np.uint8))
    small = np.asarray(image.resize((28, 28), Image.BILINEAR), dtype=np.float32) / 255.0
    return 1.0 - small if small.mean() > 0.5 else small


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default", help="model or run (default: packaged)")
    parser.add_argument("--per-variant", type=int, default=500)
    parser.add_argument("--numbers", type=int, default=1000, help="in samples of 200")
    args = parser.parse_args()

    predictor = Predictor.load(args.model)
    _, (x, y) = datasets.load_mnist()
    rng = np.random.default_rng(11)
    index = rng.choice(len(x), args.per_variant, replace=False)
    digits, labels = x[index], y[index]
    clean = predictor.predict_proba(digits.astype(np.float32) / 255.0).argmax(axis=1)

    report: dict = {
        "date": dt.date.today().isoformat(),
        "model": str(predictor.path),
        "digits_per_variant": args.per_variant,
        "clean_mnist_accuracy": float(np.mean(clean == labels)),
        "variants": {},
    }
    for variant in variants_module.VARIANTS:
        vrng = np.random.default_rng(0)
        sources = [variant(d, vrng) for d in digits]
        start = time.perf_counter()
        ours = np.stack([preprocess.to_mnist(s) for s in sources])
        ms = 1000 * (time.perf_counter() - start) / len(sources)
        plain = np.stack([naive(s) for s in sources])
        p_ours = predictor.predict_proba(ours).argmax(axis=1)
        p_naive = predictor.predict_proba(plain).argmax(axis=1)
        row = {
            "accuracy": float(np.mean(p_ours == labels)),
            "agreement_with_clean": float(np.mean(p_ours == clean)),
            "naive_accuracy": float(np.mean(p_naive == labels)),
            "preprocess_ms_per_image": ms,
        }
        report["variants"][variant.__name__] = row
        print(f"{variant.__name__:12s} {json.dumps(row)}", flush=True)

    # Whole numbers: --numbers of them, in samples of 200 drawn like the
    # test's (the first sample is the test's own), read with and without the
    # segment verifier on the same images.
    verify = Verifier.load()
    cases = []
    for sample in range(max(1, args.numbers // 200)):
        nrng = np.random.default_rng(2026 + sample)
        for _ in range(200):
            length = int(nrng.integers(2, 9))
            pick = nrng.choice(len(x), length, replace=False)
            text = "".join(str(int(v)) for v in y[pick])
            cases.append((sample, synthetic.compose_number(x[pick], nrng).image, text))
    report["numbers"] = {"count": len(cases), "samples_of": 200}
    for name, verifier in (("with_verifier", verify), ("without_verifier", None)):
        hits = {}
        start = time.perf_counter()
        for sample, image, text in cases:
            ok = reading.read_number(image, predictor.predict_proba, verifier).text == text
            hits.setdefault(sample, []).append(ok)
            hits.setdefault(f"length {len(text)}", []).append(ok)
        per_sample = [float(np.mean(v)) for k, v in hits.items() if isinstance(k, int)]
        everything = [ok for k, v in hits.items() if isinstance(k, int) for ok in v]
        report["numbers"][name] = {
            "whole_number_accuracy": float(np.mean(everything)),
            "per_sample": per_sample,
            "by_length": {
                k.split()[1]: float(np.mean(v))
                for k, v in sorted(hits.items(), key=str)
                if isinstance(k, str)
            },
            "seconds_per_number": (time.perf_counter() - start) / len(cases),
        }
        print(name, json.dumps(report["numbers"][name]), flush=True)
    name = "default" if args.model == "default" else Path(args.model).name
    out = ROOT / "benchmarks" / "results" / f"handwriting-{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
