"""The version of lazarus, read by the package, the index cache and the build."""

__version__ = "0.1.0"
