"""Real images of handwriting: the stages between a picture and the model's 28x28 input.

This package owns everything that turns a photo, scan or drawing into
MNIST-form digits, in small stages testable on their own:
:mod:`~mnist_cnn.vision.loading` (any file, bytes or array to grayscale),
:mod:`~mnist_cnn.vision.resolution` (was the picture blown up from a few
pixels: the packaged models pick their classifier by it),
:mod:`~mnist_cnn.vision.baseline` (LeCun's plain normalisation: the floor
every other step must beat), :mod:`~mnist_cnn.vision.ink` (the page
reading's ink analysis: desk, background, grid lines, faint strokes),
:mod:`~mnist_cnn.vision.forms` (a form's printed box or comb of cells,
found and painted over),
:mod:`~mnist_cnn.vision.normalise` (one digit: the plain and page readings,
the choice between them, the views its final reading averages, and shapes
no digit has), :mod:`~mnist_cnn.vision.reading` (whole
numbers: segmentation, marks, the verifier's scoring), and the synthetic
inputs that test them, :mod:`~mnist_cnn.vision.variants` (the stress
corpus), :mod:`~mnist_cnn.vision.not_digits` (drawings that are no digit)
and :mod:`~mnist_cnn.vision.degrade` (real-input augmentation).
It may import numpy, scipy and Pillow, and :mod:`mnist_cnn.errors` and
:mod:`mnist_cnn.fileio`; never Keras, a backend or matplotlib, so a service
can read images without loading TensorFlow (``tests/test_layout.py``).
Classifiers come in as callables.
"""
