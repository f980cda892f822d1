"""Packaging of what pyproject.toml cannot declare: the repository's data/ and notebooks/ in the wheel.

The project layout is fixed (``data/`` and ``notebooks/`` beside ``cpts_diag/``). The wheel carries the two
folders as ``cpts_diag/_data`` and ``cpts_diag/_notebooks``, copied at build time by :class:`BuildPy` (no
symlink, no copy in the repository); ``cpts_diag.settings`` finds them with ``importlib.resources`` when the
package is installed (``pip install .``) and uses the repository folders themselves in a checkout
(``pip install -e .``). The HTML templates, style sheets and map script (``cpts_diag/outputs/templates``,
``cpts_diag/outputs/static``) are package data of ``cpts_diag.outputs``; ``MANIFEST.in`` puts data/ and
notebooks/ in a source distribution. Everything else is in pyproject.toml.

``package_dir={"": "."}`` (the packages live at the root, and nothing is mapped elsewhere) makes an editable
install a plain path line in a ``.pth`` file: ``cpts_diag`` is then a regular package on ``sys.path``, which a
folder named ``cpts_diag`` without ``__init__.py`` in the current folder (a user's clone of the project, say)
cannot shadow. With any other mapping setuptools installs an import finder placed *after* the search of
``sys.path``, and such a folder was imported instead of the package (in Jupyter kernels, batch workers,
``python -m papermill``). ``include_package_data=False``: package data are exactly ``package_data``
(setuptools otherwise warns about every data folder that is not a package).
"""

from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
#: Repository folder -> its name inside the installed package.
BUNDLED = {"data": "_data", "notebooks": "_notebooks"}


def _bundled_files(folder: Path) -> list[Path]:
    """Files of ``folder`` to ship, relative to it (hidden and ``__…`` files and folders left out)."""
    return sorted(
        path.relative_to(folder)
        for path in folder.rglob("*")
        if path.is_file() and not any(part.startswith((".", "__")) for part in path.relative_to(folder).parts)
    )


class BuildPy(build_py):
    """build_py that also copies data/ and notebooks/ into the built package (not for an editable install,
    which uses the repository folders)."""

    def run(self):
        super().run()
        if self.editable_mode:
            return
        for source, name in BUNDLED.items():
            for rel in _bundled_files(HERE / source):
                target = Path(self.build_lib, "cpts_diag", name, rel)
                self.mkpath(str(target.parent))
                self.copy_file(str(HERE / source / rel), str(target))


setup(
    packages=find_packages(include=["cpts_diag", "cpts_diag.*"]),
    package_dir={"": "."},
    include_package_data=False,
    # jinja2 templates, style sheets and the map script of the HTML outputs (cpts_diag.outputs.templating).
    package_data={"cpts_diag.outputs": ["templates/*.j2", "templates/fragments/*.j2", "static/*.css", "static/*.js"]},
    cmdclass={"build_py": BuildPy},
)
