"""The one parser of the CPAM parameter shared by the CLI, the notebooks, the report and the batch.

Default rule (the same everywhere): the FICTITIOUS example table is used by default only with the embedded
PACA listing (:data:`cpts_diag.settings.DEFAULT_PERIMETERS`, given or implied); with a user's perimeter file,
no CPAM table unless one is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cpts_diag import settings

_NONE = ("aucun", "aucune", "non")
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
        return self.path if self.mode == "fichier" and self.path is not None else self.mode

    @property
    def parameter(self) -> str:
        """The notebooks' ``fichier_cpam`` parameter: ``"aucun"``, ``"exemple"`` or an absolute path.

        Never ``""``, which the notebooks read as « the default for this perimeter file ».
        """
        return str(self.path) if self.mode == "fichier" else self.mode


def is_embedded_listing(perimeters) -> bool:
    """True when ``perimeters`` is the embedded PACA listing: None, ``""`` or that very file.

    Examples
    --------
    >>> is_embedded_listing(None), is_embedded_listing(" "), is_embedded_listing(settings.DEFAULT_PERIMETERS)
    (True, True, True)
    >>> is_embedded_listing("mes_cpts.xlsx")
    False
    """
    if perimeters is None or not str(perimeters).strip():
        return True
    path = Path(str(perimeters).strip()).expanduser()
    try:
        return path.resolve() == Path(settings.DEFAULT_PERIMETERS).resolve()
    except OSError:
        return False


def default_cpam_mode(perimeters) -> str:
    """``"exemple"`` with the embedded PACA listing, ``"aucun"`` with any other perimeter file."""
    return "exemple" if is_embedded_listing(perimeters) else "aucun"


def cpam_choice(value, perimeters=None) -> CpamChoice:
    """Parse a CPAM parameter.

    None or ``""`` take the default for the perimeter file ``perimeters`` (None: the embedded PACA listing; the
    module's rule, :func:`default_cpam_mode`). ``"aucun"``, ``"aucune"``, ``"non"`` mean no table, ``"exemple"`` /
    ``"example"`` the embedded example (case and surrounding spaces ignored); anything else is a file.

    Examples
    --------
    >>> [cpam_choice(v).mode for v in (" Exemple ", "aucune", "cpam.csv")]
    ['exemple', 'aucun', 'fichier']
    >>> cpam_choice(None).mode, cpam_choice("", perimeters="mes_cpts.xlsx").mode
    ('exemple', 'aucun')
    >>> path = cpam_choice(" cpam.csv ").path
    >>> path.name, path.is_absolute()
    ('cpam.csv', True)
    """
    if isinstance(value, CpamChoice):
        return value
    if value is None or (isinstance(value, str) and not value.strip()):
        value = default_cpam_mode(perimeters)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _NONE:
            return CpamChoice("aucun")
        if text in _EXAMPLE:
            return CpamChoice("exemple")
    return CpamChoice("fichier", settings.user_path(value))
