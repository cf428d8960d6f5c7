"""Exceptions that carry a message meant for the user.

Every error the CLI shows as a one-line message (instead of a traceback) is a
subclass of :class:`MnistCnnError`. Messages name the offending file or value
and say what to do about it.
"""

from __future__ import annotations


class MnistCnnError(Exception):
    """Base class for errors whose message is meant for the user."""


class DataError(MnistCnnError):
    """A dataset file is missing, damaged or of the wrong shape."""


class DownloadError(DataError):
    """A dataset could not be downloaded or failed verification."""


class ImageError(MnistCnnError):
    """An input image cannot be read or holds no digit."""


class ModelError(MnistCnnError):
    """A model or run directory cannot be found or loaded."""


class ConfigError(MnistCnnError, ValueError):
    """A configuration value is out of range or unknown."""


class ExportError(MnistCnnError):
    """A model cannot be exported, or its export does not match the original."""
