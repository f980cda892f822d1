"""User-facing input errors.

Every failure caused by a file or a value given by the user is an :class:`InputError`
whose ``str()`` is a single French line naming the file, the line and the value, e.g.::

    fichier « data.csv », ligne 12 : code commune invalide (valeur « ABCDE »)

The command-line interface prints it as ``erreur : ...`` and exits with code 2.
"""

from __future__ import annotations

import os
import re

_MAX_VALUE_CHARS = 80
#: Longest failure message a batch record or terminal line carries.
_MAX_ERROR = 400
_ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _one_line(text: object) -> str:
    """Collapse line breaks and tabs so a message stays on one line."""
    return " ".join(str(text).split())


def format_message(
    message: str,
    path: str | os.PathLike | None = None,
    line: int | None = None,
    value: object = None,
    line_label: str = "ligne",
) -> str:
    """Build the one-line French message ``fichier « p », ligne n : message (valeur « v »)``.

    ``message`` says what is wrong, in French; ``path`` is the file, shown as given; ``line`` the line (or
    record / feature number), after the word ``line_label`` ("ligne", "territoire", "entité"); ``value`` the
    offending value, shown between French quotes (truncated to 80 characters). Parts given as None are omitted.

    Examples
    --------
    >>> format_message("code commune invalide", "data.csv", 12, "ABCDE")
    'fichier « data.csv », ligne 12 : code commune invalide (valeur « ABCDE »)'
    >>> format_message("fichier introuvable", "x.csv")
    'fichier « x.csv » : fichier introuvable'
    """
    where = []
    if path is not None:
        # shown as given, control characters escaped (a file name may hold a line break)
        name = "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(os.fspath(path)))
        where.append(f"fichier « {name} »")
    if line is not None:
        where.append(f"{line_label} {line}")
    text = _one_line(message)
    if where:
        text = ", ".join(where) + " : " + text
    if value is not None:
        shown = _one_line(value) or "(vide)"
        if len(shown) > _MAX_VALUE_CHARS:
            shown = shown[: _MAX_VALUE_CHARS - 1] + "…"
        text += f" (valeur « {shown} »)"
    return text


class InputError(Exception):
    """A user input that cannot be used; ``str()`` is a one-line French message.

    The arguments, kept as attributes of the same names, are those of :func:`format_message`.

    Examples
    --------
    >>> str(InputError("code commune invalide", "data.csv", 12, "ABCDE"))
    'fichier « data.csv », ligne 12 : code commune invalide (valeur « ABCDE »)'
    """

    def __init__(self, message: str, path=None, line: int | None = None, value=None, *, line_label: str = "ligne"):
        self.message = message
        self.path = path
        self.line = line
        self.value = value
        self.line_label = line_label
        super().__init__(self.__str__())

    def __str__(self) -> str:
        return format_message(self.message, self.path, self.line, self.value, self.line_label)


def shown_paths(text: str) -> str:
    """``text`` with the paths it quotes (« … ») that lie in the current folder shown relative to it.

    Paths a user gives are made absolute where they enter (:func:`cpts_diag.settings.user_path`); the command
    line shows them back as she typed them, relative to her folder, when that is where they are.

    Examples
    --------
    >>> import os
    >>> shown_paths(f"fichier « {os.getcwd()}{os.sep}a.csv », ligne 2 : code invalide")
    'fichier « a.csv », ligne 2 : code invalide'
    >>> shown_paths("fichier « /ailleurs/a.csv » : fichier introuvable")
    'fichier « /ailleurs/a.csv » : fichier introuvable'
    """
    try:
        folder = os.getcwd().rstrip(os.sep)
    except OSError:  # the current folder was deleted
        return text
    return text.replace(f"« {folder}{os.sep}", "« ") if folder else text


def error_message(exc: BaseException) -> str:
    """One French line describing a failure (no traceback, no colour codes, bounded length).

    Examples
    --------
    >>> error_message(RuntimeError("échec de l'exécution du notebook : KeyError : 'x'\\nTraceback…"))
    "échec de l'exécution du notebook : KeyError : 'x'"
    """
    if isinstance(exc, KeyboardInterrupt):
        return "interrompu par l'utilisateur"
    line = next((ln.strip() for ln in _ANSI_RE.sub("", str(exc)).splitlines() if ln.strip()), "")
    if not isinstance(exc, (InputError, RuntimeError)) or not line:
        line = f"erreur {type(exc).__name__}" + (f" : {line}" if line else "")
    if len(line) > _MAX_ERROR:
        line = line[: _MAX_ERROR - 1] + "…"
    return line
