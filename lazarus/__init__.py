"""lazarus: an offline command-line doctor for PyTorch."""

__version__ = "0.1.0"
