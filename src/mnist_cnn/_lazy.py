"""Lazy re-exports for package ``__init__`` modules (PEP 562 module ``__getattr__``).

A package lists the public names of its modules; a name's module is imported
the first time the name is used, so importing the package costs nothing and
never loads Keras, TensorFlow or matplotlib on its own.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any


def load(package: str, exports: Mapping[str, str], name: str) -> Any:
    """The attribute ``name`` of ``package``: ``exports[name]`` names the module defining it.

    Raises:
        AttributeError: ``name`` is not exported (so ``from package import submodule``
            falls back to importing the submodule, as usual).
    """
    try:
        module_name = exports[name]
    except KeyError:
        raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
    return getattr(importlib.import_module(module_name, package), name)
