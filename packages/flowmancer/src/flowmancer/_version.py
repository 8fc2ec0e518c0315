"""The package's version, in a module of its own so that the driver's modules (the run record
writes it) can read it without importing the package's ``__init__``."""

__version__ = "0.13.0"
