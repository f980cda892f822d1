"""Shared test settings."""

import csv
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

DATA_DIR = Path(__file__).resolve().parent.parent / "data"

#: Fixtures that start Jupyter kernels (papermill runs, report batches, regional views) or a Dask cluster: the
#: tests using them are marked « kernel » (and « cluster »), left out of ``make test-fast``.
KERNEL_FIXTURES = {"built", "nb01", "nb03", "batch", "national_batch", "report_a", "batch_b", "views", "cluster"}
CLUSTER_FIXTURES = {"cluster"}


def pytest_collection_modifyitems(items):
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        if used & KERNEL_FIXTURES:
            item.add_marker(pytest.mark.kernel)
        if used & CLUSTER_FIXTURES:
            item.add_marker(pytest.mark.cluster)


@pytest.fixture(scope="session")
def raw_communes():
    """The embedded COG 2026 records, read with the csv module (independent of the code under test)."""
    with open(DATA_DIR / "communes_cog2026.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))
