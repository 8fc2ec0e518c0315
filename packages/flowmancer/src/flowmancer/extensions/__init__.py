"""``flowmancer.extensions`` as in Flowmancer 0.12: the ``Extension`` base and ``@extension``."""

from .extension import Extension, extension

__all__ = ["Extension", "extension"]
