"""``flowmancer.flowmancer`` as in Flowmancer 0.12: the ``Flowmancer`` driver."""

from ._driver import Flowmancer

__all__ = ["Flowmancer"]
