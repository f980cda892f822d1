"""cpts_diag: territorial diagnostic of French CPTS."""

__version__ = "0.1.0"
