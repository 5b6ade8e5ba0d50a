"""One exception family for every error a user can act on.

Each message says what is wrong, where (file, layer, field, value) and how to fix it.
The CLI prints the message alone (no traceback) and exits with a non-zero code.
"""

from __future__ import annotations


class GeocarbonError(Exception):
    """Base class of every error geocarbon reports to its user."""

    exit_code = 2


class ConfigError(GeocarbonError):
    """The pipeline file is malformed, has unknown keys or invalid values."""


class InputError(GeocarbonError):
    """An input file is missing, unreadable or inconsistent with the others."""


class OutputError(GeocarbonError):
    """Outputs cannot be written (not writable, exists without ``--overwrite``)."""


class CoefficientError(GeocarbonError):
    """A coefficient table is missing a value, a column or is malformed."""
