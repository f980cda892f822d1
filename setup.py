"""Packaging of what pyproject.toml cannot declare: the repository's data/ and notebooks/ as package data.

The project layout is fixed (``data/`` and ``notebooks/`` beside ``cpts_diag/``), so the two folders are
mapped into the wheel as ``cpts_diag/_data`` and ``cpts_diag/_notebooks`` (no symlink, no copy in the
repository); ``cpts_diag.settings`` finds them with ``importlib.resources`` when the package is installed
(``pip install .``) and uses the repository folders themselves in a checkout (``pip install -e .``).
Subpackages of ``cpts_diag`` are still discovered automatically; the HTML templates and style sheets
(``cpts_diag/outputs/templates``, ``cpts_diag/outputs/static``) are package data of
``cpts_diag.outputs``. Everything else is in pyproject.toml.
"""

from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).resolve().parent
# Every folder of data/ (data/perimetres/ too) is declared, so setuptools copies its files as package data.
DATA_PACKAGES = {"cpts_diag._notebooks": "notebooks"}
for folder in sorted([HERE / "data", *(HERE / "data").rglob("*")]):
    if folder.is_dir() and not folder.name.startswith((".", "__")):
        rel = folder.relative_to(HERE).as_posix()
        DATA_PACKAGES["cpts_diag._" + rel.replace("/", ".")] = rel

setup(
    packages=find_packages(include=["cpts_diag", "cpts_diag.*"]) + list(DATA_PACKAGES),
    package_dir=DATA_PACKAGES,
    # jinja2 templates and style sheets of the HTML outputs (cpts_diag.outputs.templating).
    package_data={
        **{name: ["*"] for name in DATA_PACKAGES},
        "cpts_diag._notebooks": ["*.ipynb"],
        "cpts_diag.outputs": ["templates/*.j2", "templates/fragments/*.j2", "static/*.css"],
    },
)
