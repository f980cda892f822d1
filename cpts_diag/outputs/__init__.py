"""What users receive: HTML (jinja2 templates, CSS), offline maps, Excel workbooks, GeoPackages and the
terminal rendering of checks and diagnostics."""
