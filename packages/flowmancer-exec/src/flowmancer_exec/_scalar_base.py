"""What the scalar converters of ``_scalars`` and ``_temporal`` share: the "cannot convert"
sentinel and reading a value as text or as a Decimal. Below both, so ``_temporal`` (imported
only when a parameter is annotated with a date or time) does not import ``_scalars`` back.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["BAD", "decimal_of", "text_of"]

BAD: Any = object()  # returned by a converter that cannot convert its value


def text_of(value: Any) -> str | None:
    """``value`` as text when it is text, or bytes that are UTF-8; else None."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray)):
        try:
            return bytes(value).decode()
        except UnicodeDecodeError:
            return None
    return None


def decimal_of(value: Any) -> Any:
    """A ``decimal.Decimal`` as itself, anything else None (without importing decimal)."""
    module = sys.modules.get("decimal")
    return value if module is not None and isinstance(value, module.Decimal) else None
