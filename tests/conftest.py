"""Shared test settings."""

import csv
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


@pytest.fixture(scope="session")
def raw_communes():
    """The embedded COG 2026 records, read with the csv module (independent of the code under test)."""
    with open(DATA_DIR / "communes_cog2026.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))
