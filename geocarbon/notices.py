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
    facts : dict
        The numbers and names the message states (``{"n_buildings": 12}``), with their
        units in their keys; :func:`geocarbon.notice_texts.notice_text` fills the French
        text of the notice from them.
    """

    code: str
    message: str
    items: list[Any] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form (facts as plain numbers and strings)."""
        out = asdict(self)
        out["facts"] = {str(k): _plain(v) for k, v in self.facts.items()}
        return out

    def __str__(self) -> str:
        shown = ", ".join(str(i) for i in self.items[:10])
        more = f" (+{len(self.items) - 10} more)" if len(self.items) > 10 else ""
        return f"{self.message}" + (f": {shown}{more}" if self.items else "")


def _plain(value: Any) -> Any:
    """A JSON-friendly form of one fact: numbers and strings as such, others as text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        try:
            plain = item()
        except (TypeError, ValueError):
            return str(value)
        if isinstance(plain, bool | int | float | str):
            return plain
    return str(value)
