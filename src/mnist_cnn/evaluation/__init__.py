"""Evaluation: how good a model is, on the page and in numbers.

Owns the test-set evaluation (:mod:`~mnist_cnn.evaluation.evaluator`: the numbers
of ``evaluation.json``), numpy-only classification metrics
(:mod:`~mnist_cnn.evaluation.metrics`), figures on Matplotlib's object API
(:mod:`~mnist_cnn.evaluation.plots`: no pyplot, no global backend), the
self-contained HTML reports of runs, cv runs and comparisons
(:mod:`~mnist_cnn.evaluation.report` and ``templates/``) and the comparison of
runs (:mod:`~mnist_cnn.evaluation.compare`). It may import numpy, Matplotlib,
Jinja2 and Pillow, :mod:`mnist_cnn.data` and :mod:`mnist_cnn.inference` (to run
the model it evaluates) and the top-level modules; never
:mod:`mnist_cnn.training`, :mod:`mnist_cnn.serve` or :mod:`mnist_cnn.cli`. The
names below are loaded on first use.
"""

from .. import _lazy

_EXPORTS = {
    **dict.fromkeys(("EVALUATION_FILE", "evaluate", "summarize"), ".evaluator"),
    **dict.fromkeys(("write_cv_report", "write_report"), ".report"),
    **dict.fromkeys(("compare_runs", "format_table"), ".compare"),
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    return _lazy.load(__name__, _EXPORTS, name)


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
