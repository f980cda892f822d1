"""The one parser of the CPAM parameter shared by the CLI, the notebooks, the report and the batch."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cpts_diag import settings

__all__ = ["CpamChoice", "cpam_choice"]

_NONE = ("", "aucun", "aucune", "non")
_EXAMPLE = ("exemple", "example")


@dataclass(frozen=True)
class CpamChoice:
    """A parsed CPAM parameter.

    ``mode`` is ``"aucun"`` (no table), ``"exemple"`` (the embedded FICTITIOUS table) or ``"fichier"``, and then
    ``path`` is the user's file, absolute against the current folder (:func:`cpts_diag.settings.user_path`).
    """

    mode: str
    path: Path | None = None

    @property
    def file(self) -> Path | None:
        """The table to read: the user's file, the embedded example, or None."""
        return settings.DEFAULT_CPAM if self.mode == "exemple" else self.path

    @property
    def value(self) -> Path | str:
        """The plain form accepted by every function that takes a CPAM parameter: path or mode."""
        return self.path if self.mode == "fichier" else self.mode

    @property
    def parameter(self) -> str:
        """The notebooks' ``fichier_cpam`` parameter: ``""``, ``"exemple"`` or an absolute path."""
        if self.mode == "fichier":
            return str(self.path)
        return "exemple" if self.mode == "exemple" else ""


def cpam_choice(value, default: str = "aucun") -> CpamChoice:
    """Parse a CPAM parameter.

    None uses ``default``; ``""``, ``"aucun"``, ``"aucune"``, ``"non"`` mean no table, ``"exemple"`` /
    ``"example"`` the embedded example (case and surrounding spaces ignored); anything else is a file.

    Examples
    --------
    >>> [cpam_choice(v).mode for v in (" Exemple ", None, "aucune", "cpam.csv")]
    ['exemple', 'aucun', 'aucun', 'fichier']
    >>> cpam_choice(None, default="exemple").mode
    'exemple'
    >>> path = cpam_choice(" cpam.csv ").path
    >>> path.name, path.is_absolute()
    ('cpam.csv', True)
    """
    if isinstance(value, CpamChoice):
        return value
    if value is None:
        value = default
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _NONE:
            return CpamChoice("aucun")
        if text in _EXAMPLE:
            return CpamChoice("exemple")
    return CpamChoice("fichier", settings.user_path(value))
