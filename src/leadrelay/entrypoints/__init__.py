"""Entry points: the Python API, the command line, the worker and the demo."""
