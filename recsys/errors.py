"""One small exception hierarchy: every expected failure is a ``RecsysError``.

Messages say what went wrong, where, and what was expected, so that the CLI and the
app can show them verbatim to a user.
"""

from __future__ import annotations

__all__ = [
    "RecsysError",
    "ConfigError",
    "ArgumentError",
    "DataError",
    "UnknownDatasetError",
    "ChecksumError",
    "ValidationError",
    "NotFittedError",
    "UnknownIdError",
    "UnsupportedError",
    "NotebookError",
    "WriteError",
]


class RecsysError(Exception):
    """Base class of every error the library raises on purpose."""


class ConfigError(RecsysError, ValueError):
    """A setting, spec or hyper-parameter is missing, unknown or out of range."""


class ArgumentError(ConfigError, TypeError):
    """A public function was called with an argument of the wrong type, shape or value.

    Also a ``TypeError``, so that callers catching the built-in error keep working.
    """


class DataError(RecsysError):
    """Input data is missing, unreadable or malformed."""


class UnknownDatasetError(DataError, KeyError):
    """A dataset name is not in the release registry."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class ChecksumError(DataError):
    """A file's size or hash differs from the recorded or published one."""


class ValidationError(DataError):
    """A quality check failed with at least one error-level finding."""


class NotFittedError(RecsysError, RuntimeError):
    """A model was used before ``fit`` (or ``load``)."""


class UnknownIdError(RecsysError, KeyError):
    """A user or item id is not known to a fitted model or dataset."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class UnsupportedError(RecsysError, NotImplementedError):
    """A model was asked for a capability it does not declare."""


class NotebookError(RecsysError):
    """A step notebook failed to execute (the message names the cell's error)."""


class WriteError(RecsysError, OSError):
    """A file or folder could not be written: no permission, no space, or a parent folder
    that cannot be made. Also an ``OSError``, so that callers catching it keep working."""
