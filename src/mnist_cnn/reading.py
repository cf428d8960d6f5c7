"""Whole handwritten numbers: the public names of :mod:`mnist_cnn.vision.reading`.

Kept so that ``from mnist_cnn import reading`` works as the README shows it.
"""

from .vision.reading import *  # noqa: F403 - the public names, as listed there
from .vision.reading import __all__  # noqa: F401
