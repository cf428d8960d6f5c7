"""Flags generated from a config dataclass, and the config built back from them.

Every field of :class:`~mnist_cnn.config.TrainConfig` is a flag of ``train`` and
``cv`` (name, type, default, choices and help from the field and its
``metadata``), so a training option is declared once, in :mod:`mnist_cnn.config`,
and reaches the command line, ``config.json`` and ``--config`` reruns from there.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import typing
from pathlib import Path

from ..config import TrainConfig
from ..errors import ConfigError

__all__ = ["add_config_arguments", "add_train_arguments", "train_config_from_args"]


class _StoreGiven(argparse._StoreAction):
    """``store``, also noting that the flag was given (``args._given``)."""

    def __call__(self, parser, namespace, values, option_string=None):
        super().__call__(parser, namespace, values, option_string)
        _note_given(namespace, self.dest)


class _BooleanGiven(argparse.BooleanOptionalAction):
    """``--flag/--no-flag``, also noting that it was given (``args._given``)."""

    def __call__(self, parser, namespace, values, option_string=None):
        super().__call__(parser, namespace, values, option_string)
        _note_given(namespace, self.dest)


def _note_given(namespace: argparse.Namespace, dest: str) -> None:
    given = set(getattr(namespace, "_given", ()))
    given.add(dest)
    namespace._given = given


def add_config_arguments(
    parser: argparse.ArgumentParser, config_class: type | None = None
) -> None:
    """One flag per field of ``config_class`` (default :class:`~mnist_cnn.config.TrainConfig`).

    The flag is ``--field-name`` (or the field's ``metadata["flag"]``), its type,
    default and help come from the field; ``bool`` fields get ``--name/--no-name``.
    Each flag stores into ``args.<field name>`` and notes, in ``args._given``, that
    it was given, so :func:`train_config_from_args` can apply it over a ``--config``.
    """
    config_class = config_class or TrainConfig
    hints = typing.get_type_hints(config_class)
    for field in dataclasses.fields(config_class):
        meta = field.metadata
        flags = meta.get("flag", "--" + field.name.replace("_", "-"))
        flags = (flags,) if isinstance(flags, str) else tuple(flags)
        default = field.default
        if default is dataclasses.MISSING:
            default = field.default_factory()
        kwargs: dict = {"dest": field.name, "default": default, "help": meta.get("help")}
        kind = hints[field.name]
        if kind is bool:
            parser.add_argument(*flags, action=_BooleanGiven, **kwargs)
            continue
        # int | None, str | None: the flag takes the non-None type.
        args_of = [a for a in typing.get_args(kind) if a is not type(None)]
        kwargs["type"] = args_of[0] if args_of else kind
        choices = meta.get("choices")
        if callable(choices):
            choices = choices()
        if choices is not None:
            kwargs["choices"] = tuple(choices)
        if "metavar" in meta:
            kwargs["metavar"] = meta["metavar"]
        if default is not None and kwargs["help"] is not None:
            kwargs["help"] += " (default: %(default)s)"
        parser.add_argument(*flags, action=_StoreGiven, **kwargs)


def train_config_from_args(args: argparse.Namespace):
    """The :class:`~mnist_cnn.config.TrainConfig` of the train flags (``train``, ``cv``).

    Every config field is read from the flag of the same name (``--out`` is
    ``out_dir``), so a field added to the config reaches ``train`` and ``cv``
    without a change here. With ``--config FILE`` (a run's ``config.json``), the
    file's settings are the starting point and only the flags given override them.
    """
    names = [f.name for f in dataclasses.fields(TrainConfig) if hasattr(args, f.name)]
    given = getattr(args, "_given", set())
    if "recipe" in given:
        if getattr(args, "config", None):
            raise ConfigError(
                "--recipe and --config both say where to start: give one (a run's "
                "config.json already holds the recipe it was made with)"
            )
        # The recipe's settings, with only the flags given on this command over them.
        overrides = {name: getattr(args, name) for name in names if name in given}
        return TrainConfig.from_recipe(overrides.pop("recipe"), **overrides)
    if getattr(args, "config", None):
        # The saved run's settings, with only the flags given on this command over them.
        base = TrainConfig.load(args.config)
        recorded = base.data_dir
        moved = recorded is not None and not Path(recorded).is_dir()
        if moved and "data_dir" not in given and base.dataset != "idx":
            # Another machine: the checksums make any copy of MNIST or
            # Fashion-MNIST the same data, so search the usual places.
            print(
                f"note: {recorded} (the config's data_dir) is not here; "
                "looking for the data in the usual places",
                file=sys.stderr,
            )
            base = base.replace(data_dir=None)
        return base.replace(**{name: getattr(args, name) for name in names if name in given})
    return TrainConfig(**{name: getattr(args, name) for name in names})


def add_train_arguments(p: argparse.ArgumentParser) -> None:
    """The flags of ``train`` and ``cv``: one per config field, then the run's own."""
    add_config_arguments(p)
    p.add_argument(
        "--config",
        default=None,
        metavar="JSON",
        help="start from a run's config.json (rerun it); flags given override its values",
    )
    p.add_argument(
        "--verbose",
        default="auto",
        type=lambda v: v if v == "auto" else int(v),
        help="Keras progress: auto, 0, 1 (bar) or 2 (line per epoch)",
    )
    p.add_argument(
        "--no-report", action="store_true", help="do not write report.html into the run"
    )
