"""Small helpers shared by several test files (imported by name, like geo_expect)."""

from __future__ import annotations


def populations(codes):
    """Populations of commune or arrondissement codes, from the COG 2026 reference."""
    from cpts_diag.reference import load_reference

    communes = load_reference().communes
    return [float(communes.at[c, "population"]) for c in codes]
