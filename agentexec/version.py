"""The package's version, in a module of its own so that any module can name it without importing
``agentexec/__init__.py`` (whose lazy ``connect`` reaches the whole run pipeline: an import cycle)."""

__version__ = "0.1.0"
