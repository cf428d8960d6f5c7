"""The ``mnist-cnn`` command line: one module per verb, each parsing its flags and
calling one library function.

Owns argument parsing and terminal output only: this module (``main``
and the parser of all verbs), :mod:`~mnist_cnn.cli.config_flags` (train
and cv flags generated from :class:`~mnist_cnn.config.TrainConfig`),
:mod:`~mnist_cnn.cli.common` (what verbs share) and a module per verb
(``train``, ``recipes``, ``evaluate``, ``report``, ``cv``, ``compare``, ``predict``,
``read``, ``samples``, ``export``, ``serve``, ``env``). It may import
anything in the package, lazily inside ``run`` so ``--help`` stays fast;
nothing in the package imports it (``tests/test_layout.py``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..errors import MnistCnnError
from . import (
    compare,
    cv,
    env,
    evaluate,
    export,
    predict,
    read,
    recipes,
    report,
    samples,
    serve,
    train,
)
from .common import EXIT_ERROR, import_keras_quietly

#: The verbs, in the order ``--help`` lists them.
VERBS = (train, recipes, evaluate, report, cv, compare, predict, read, samples, export, serve, env)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mnist-cnn", description="Handwritten digit recognition with a Keras CNN."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for verb in VERBS:
        verb.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    # Images may come before and after options ("predict a.png --json b.png"):
    # argparse stops a positional list at the first option, so collect the rest.
    args, extra = parser.parse_known_args(argv)
    if extra:
        if getattr(args, "inputs", None) is not None and not any(e.startswith("-") for e in extra):
            args.inputs += extra
        else:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        if getattr(args, "needs_keras", True):
            import_keras_quietly()
        return args.func(args)
    except MnistCnnError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
