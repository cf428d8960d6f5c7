"""Make the example images under docs/examples/ from MNIST test digits.

    .venv/bin/python docs/make_examples.py

They imitate phone photos: blue or black ink on off-white paper with uneven
light, squared or plain, slightly rotated, saved as JPEG. Used by the README's
``predict`` and ``read`` examples.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from mnist_cnn.data import datasets

OUT = Path(__file__).resolve().parent / "examples"


def ink_of(digit: np.ndarray, height: int) -> np.ndarray:
    image = Image.fromarray(digit).resize((height, height), Image.BICUBIC)
    ink = np.clip(np.asarray(image, np.float32) / 255.0, 0, 1)
    cols = np.flatnonzero(ink.max(axis=0) > 0.05)
    return ink[:, cols[0] : cols[-1] + 1]


def paper(height: int, width: int, rng: np.random.Generator, squared: bool) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    light = 0.62 + 0.3 * (xx / width) * 0.6 + 0.3 * (1 - yy / height) * 0.4  # lamp to one side
    rgb = np.stack([light * 0.97, light * 0.95, light * 0.88], -1)
    if squared:
        step = height // 9
        lines = (np.abs(yy % step) < 1.5) | (np.abs(xx % step) < 1.5)
        rgb[lines] *= np.array([0.82, 0.86, 0.95], np.float32)
    rgb += 0.015 * rng.standard_normal(rgb.shape).astype(np.float32)
    return rgb


def compose(digits, height, gaps, rng, squared, pen=(0.12, 0.16, 0.45)) -> Image.Image:
    inks = [ink_of(d, height) for d in digits]
    width = sum(i.shape[1] for i in inks) + sum(gaps) + 2 * height
    canvas = np.zeros((2 * height, width), np.float32)
    x = height
    for k, ink in enumerate(inks):
        y = height // 2 + int(rng.integers(-height // 12, height // 12 + 1))
        region = canvas[y : y + ink.shape[0], x : x + ink.shape[1]]
        np.maximum(region, ink, out=region)
        x += ink.shape[1] + (gaps[k] if k < len(gaps) else 0)
    rgb = paper(*canvas.shape, rng, squared)
    rgb = rgb * (1 - canvas[..., None]) + np.array(pen, np.float32) * canvas[..., None]
    image = Image.fromarray((np.clip(rgb, 0, 1) * 255).astype(np.uint8), "RGB")
    return image.rotate(-3, resample=Image.BICUBIC, expand=False, fillcolor=(150, 148, 140))


def main() -> None:
    _, (x, y) = datasets.load_mnist()
    rng = np.random.default_rng(2026)
    OUT.mkdir(parents=True, exist_ok=True)

    def first(label: int, skip: int = 0) -> int:
        return int(np.flatnonzero(y == label)[skip])

    # A single digit per photo.
    for name, label, squared in (("seven.jpg", 7, False), ("three.jpg", 3, True)):
        image = compose([x[first(label, 1)]], 300, [], rng, squared)
        image.save(OUT / name, quality=85)
    # A number on one line.
    year = [x[first(2)], x[first(0)], x[first(2, 1)], x[first(6)]]
    compose(year, 160, [30, 24, 36], rng, squared=True).save(OUT / "year.jpg", quality=85)
    print(f"wrote {sorted(p.name for p in OUT.iterdir())}")


if __name__ == "__main__":
    main()
