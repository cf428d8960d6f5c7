"""Real images of handwriting: the stages between a picture and the model's 28x28 input.

This package owns everything that turns a photo, scan or drawing into
MNIST-form digits, and the synthetic inputs used to test that:
:mod:`~mnist_cnn.vision.baseline` (LeCun's plain normalisation: the floor
every other step must beat), :mod:`~mnist_cnn.vision.variants` (MNIST digits
made to look like what people send: tight crops, 1-bit scans, low-resolution
upscales, stretched squares, photos on paper). It may import numpy, scipy and
Pillow, and :mod:`mnist_cnn.errors` / :mod:`mnist_cnn.fileio`; never Keras or
a backend, so a service can read images without loading TensorFlow.
"""
