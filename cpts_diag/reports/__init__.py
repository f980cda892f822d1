"""Reports: the sections notebook 02 displays, the notebook runner (papermill, warm kernels), the displays of
notebooks 01 and 03, the batch (local processes or a Dask cluster), the index page and the demo."""
