"""Drawings that are not digits, to check that ``predict`` says so.

Each maker draws one shape with a random pen, size, position and tilt:
dark strokes on a white 280x280 canvas (uint8), as the drawing page or a
phone photo of a doodle gives. :data:`CHOSEN_ON` holds the shapes that
:func:`mnist_cnn.vision.normalise.not_a_digit`'s checks were chosen
looking at; :data:`HELD_OUT` was drawn after they were fixed, so that the
fraction flagged there is an honest estimate. Some are meant to be hard: a
triangle or a heart has a '0''s shape, an 'A' a '4''s.

Example:
    >>> rng = np.random.default_rng(0)
    >>> star = CHOSEN_ON["star"](rng)  # doctest: +SKIP
    >>> star.shape, star.dtype  # doctest: +SKIP
    ((280, 280), dtype('uint8'))
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw

__all__ = ["CHOSEN_ON", "HELD_OUT", "NOT_DIGITS", "Drawing"]

Drawing = Callable[[np.random.Generator], np.ndarray]
Point = tuple[float, float]

_SIZE = 280


class _Pen:
    """A canvas, a pen width, a centre, a radius and a tilt, drawn at random."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.image = Image.new("L", (_SIZE, _SIZE), 255)
        self.draw = ImageDraw.Draw(self.image)
        self.width = int(rng.integers(8, 22))
        self.r = float(rng.uniform(70, 115))
        self.cx = _SIZE / 2 + float(rng.uniform(-20, 20))
        self.cy = _SIZE / 2 + float(rng.uniform(-20, 20))
        self.tilt = float(rng.uniform(-0.25, 0.25))

    def at(self, x: float, y: float) -> Point:
        """The point ``(x, y)`` in radii from the centre, tilted."""
        c, s = np.cos(self.tilt), np.sin(self.tilt)
        return (
            self.cx + self.r * (x * c - y * s),
            self.cy + self.r * (x * s + y * c),
        )

    def line(self, points: list[Point], closed: bool = False) -> None:
        """A stroke through ``points`` (in radii from the centre)."""
        path = [self.at(x, y) for x, y in points]
        self.draw.line(
            path + path[:1] if closed else path, fill=0, width=self.width, joint="curve"
        )

    def circle(self, x: float, y: float, radius: float, fill: bool = False) -> None:
        (px, py), rr = self.at(x, y), radius * self.r
        box = [px - rr, py - rr, px + rr, py + rr]
        if fill:
            self.draw.ellipse(box, fill=0)
        else:
            self.draw.ellipse(box, outline=0, width=self.width)

    def done(self) -> np.ndarray:
        return np.asarray(self.image, dtype=np.uint8)


def _turns(count: int, step: float, start: float, radius: float = 1.0) -> list[Point]:
    angles = start + step * np.arange(count)
    return [(radius * float(np.sin(a)), -radius * float(np.cos(a))) for a in angles]


# ------------------------------------------------------------ chosen on
def circle_cross(rng):
    pen = _Pen(rng)
    pen.circle(0, 0, 1)
    pen.line([(-1, 0), (1, 0)])
    pen.line([(0, -1), (0, 1)])
    return pen.done()


def star(rng):
    pen = _Pen(rng)
    pen.line(_turns(5, 4 * np.pi / 5, 0), closed=True)
    return pen.done()


def spiral(rng):
    pen = _Pen(rng)
    t = np.linspace(0, rng.uniform(2.2, 3.2) * 2 * np.pi, 400)
    pen.line(
        [(float(r * np.cos(a)), float(r * np.sin(a))) for r, a in zip(t / t[-1], t, strict=True)]
    )
    return pen.done()


def letter_a(rng):
    pen = _Pen(rng)
    bar = float(rng.uniform(0.1, 0.35))
    pen.line([(-0.7, 1), (0, -1), (0.7, 1)])
    pen.line([(-0.55 * (1 - bar), bar), (0.55 * (1 - bar), bar)])
    return pen.done()


def letter_x(rng):
    pen = _Pen(rng)
    w = float(rng.uniform(0.6, 0.95))
    pen.line([(-w, -1), (w, 1)])
    pen.line([(w, -1), (-w, 1)])
    return pen.done()


def filled_rectangle(rng):
    pen = _Pen(rng)
    w, h = rng.uniform(0.5, 1.0, 2)
    corners = [pen.at(-w, -h), pen.at(w, -h), pen.at(w, h), pen.at(-w, h)]
    pen.draw.polygon(corners, fill=0)
    return pen.done()


def triangle(rng):
    pen = _Pen(rng)
    pen.line(_turns(3, 2 * np.pi / 3, 0), closed=True)
    return pen.done()


def hash_sign(rng):
    pen = _Pen(rng)
    for o in (-0.35, 0.35):
        pen.line([(o, -1), (o, 1)])
        pen.line([(-1, o), (1, o)])
    return pen.done()


def smiley(rng):
    pen = _Pen(rng)
    pen.circle(0, 0, 1)
    pen.circle(-0.35, -0.3, 0.1, fill=True)
    pen.circle(0.35, -0.3, 0.1, fill=True)
    t = np.linspace(0.35, np.pi - 0.35, 30)
    pen.line([(0.55 * float(np.cos(a)), 0.1 + 0.45 * float(np.sin(a))) for a in t])
    return pen.done()


def letter_w(rng):
    pen = _Pen(rng)
    pen.line([(-1, -0.7), (-0.5, 0.7), (0, -0.3), (0.5, 0.7), (1, -0.7)])
    return pen.done()


def heart(rng):
    pen = _Pen(rng)
    t = np.linspace(0, 2 * np.pi, 200)
    xs = 16 * np.sin(t) ** 3
    ys = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
    pen.line([(float(a) / 17, float(b) / 17) for a, b in zip(xs, ys, strict=True)], closed=True)
    return pen.done()


def letter_k(rng):
    pen = _Pen(rng)
    pen.line([(-0.5, -1), (-0.5, 1)])
    pen.line([(0.5, -1), (-0.5, 0), (0.5, 1)])
    return pen.done()


# ------------------------------------------------------------ held out
def letter_m(rng):
    pen = _Pen(rng)
    pen.line([(-0.8, 1), (-0.7, -1), (0, 0.3), (0.7, -1), (0.8, 1)])
    return pen.done()


def letter_e(rng):
    pen = _Pen(rng)
    pen.line([(0.5, -1), (-0.5, -1), (-0.5, 1), (0.5, 1)])
    pen.line([(-0.5, 0), (0.35, 0)])
    return pen.done()


def letter_h(rng):
    pen = _Pen(rng)
    pen.line([(-0.55, -1), (-0.55, 1)])
    pen.line([(0.55, -1), (0.55, 1)])
    pen.line([(-0.55, 0), (0.55, 0)])
    return pen.done()


def envelope(rng):
    pen = _Pen(rng)
    pen.line([(-1, -0.7), (1, -0.7), (1, 0.7), (-1, 0.7)], closed=True)
    pen.line([(-1, -0.7), (0, 0.07), (1, -0.7)])
    return pen.done()


def sun(rng):
    pen = _Pen(rng)
    pen.circle(0, 0, 0.5)
    for a in np.arange(8) * np.pi / 4:
        c, s = float(np.cos(a)), float(np.sin(a))
        pen.line([(0.7 * c, 0.7 * s), (c, s)])
    return pen.done()


def asterisk(rng):
    pen = _Pen(rng)
    for a in np.pi / 2 + np.arange(3) * np.pi / 3:
        c, s = float(np.cos(a)), float(np.sin(a))
        pen.line([(-c, -s), (c, s)])
    return pen.done()


def infinity(rng):
    pen = _Pen(rng)
    t = np.linspace(0, 2 * np.pi, 300)
    d = 1 + np.sin(t) ** 2
    pen.line(
        [
            (float(a), float(b))
            for a, b in zip(np.cos(t) / d, 0.9 * np.sin(t) * np.cos(t) / d, strict=True)
        ],
        closed=True,
    )
    return pen.done()


def house(rng):
    pen = _Pen(rng)
    pen.line([(-0.7, 1), (-0.7, -0.1), (0, -1), (0.7, -0.1), (0.7, 1)], closed=True)
    pen.line([(-0.7, -0.1), (0.7, -0.1)])
    pen.line([(-0.14, 1), (-0.14, 0.4), (0.18, 0.4), (0.18, 1)])
    return pen.done()


def scribble(rng):
    pen = _Pen(rng)
    walk = rng.normal(0, 1, (12, 2)).cumsum(axis=0)
    walk -= walk.mean(axis=0)
    walk /= np.abs(walk).max()
    pen.tilt = 0.0
    pen.line([(float(a), float(b)) for a, b in walk])
    return pen.done()


def tic_tac_toe(rng):
    pen = _Pen(rng)
    for o in (-0.33, 0.33):
        pen.line([(o, -1), (o, 1)])
        pen.line([(-1, o), (1, o)])
    width, pen.width = pen.width, max(2, pen.width // 2)
    for x, y in rng.uniform(-0.54, 0.54, (2, 2)):
        pen.circle(float(x), float(y), 0.15)
    pen.width = width
    return pen.done()


def target(rng):
    pen = _Pen(rng)
    for radius in (1.0, 0.62, 0.25):
        pen.circle(0, 0, radius)
    return pen.done()


def zigzag(rng):
    pen = _Pen(rng)
    n = int(rng.integers(4, 7))
    pen.line([(-1 + 2 * k / n, 0.6 if k % 2 else -0.6) for k in range(n + 1)])
    return pen.done()


def filled_circle(rng):
    pen = _Pen(rng)
    pen.circle(0, 0, 1, fill=True)
    return pen.done()


def checkmark(rng):
    pen = _Pen(rng)
    pen.line([(-1, 0), (-0.3, 0.7), (1, -1)])
    return pen.done()


def letter_b(rng):
    pen = _Pen(rng)
    pen.line([(-0.5, -1), (-0.5, 1)])
    t = np.linspace(-np.pi / 2, np.pi / 2, 40)
    pen.line([(-0.5 + 0.45 * float(np.cos(a)), -0.5 + 0.5 * float(np.sin(a))) for a in t])
    pen.line([(-0.5 + 0.6 * float(np.cos(a)), 0.5 + 0.5 * float(np.sin(a))) for a in t])
    return pen.done()


def _registry(*makers: Drawing) -> dict[str, Drawing]:
    return {f.__name__: f for f in makers}


#: The shapes the checks were chosen looking at.
CHOSEN_ON: dict[str, Drawing] = _registry(
    circle_cross,
    star,
    spiral,
    letter_a,
    letter_x,
    filled_rectangle,
    triangle,
    hash_sign,
    smiley,
    letter_w,
    heart,
    letter_k,
)
#: Shapes drawn after the checks were fixed.
HELD_OUT: dict[str, Drawing] = _registry(
    letter_m,
    letter_e,
    letter_h,
    envelope,
    sun,
    asterisk,
    infinity,
    house,
    scribble,
    tic_tac_toe,
    target,
    zigzag,
    filled_circle,
    checkmark,
    letter_b,
)
#: Every drawing, by name.
NOT_DIGITS: dict[str, Drawing] = {**CHOSEN_ON, **HELD_OUT}
