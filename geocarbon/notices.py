"""Notices: what a run did that its user must know (fallbacks, repairs, exclusions).

Computations return notices beside their results; the pipeline logs them and writes
them in ``run.json``, so nothing is dropped, repaired or substituted silently.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Notice:
    """One thing the user must know about a run.

    Attributes
    ----------
    code : str
        Stable identifier (e.g. ``"commune_missing_from_table"``).
    message : str
        Plain-language explanation with what was done.
    items : list
        The communes, codes or values concerned.
    """

    code: str
    message: str
    items: list[Any] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return asdict(self)

    def __str__(self) -> str:
        shown = ", ".join(str(i) for i in self.items[:10])
        more = f" (+{len(self.items) - 10} more)" if len(self.items) > 10 else ""
        return f"{self.message}" + (f": {shown}{more}" if self.items else "")
