"""Input and output of files: the one table reader and its schemas (perimeters, user files), the CPAM
parameter, content fingerprints, atomic writes, and the build of data/ from the official open data."""
