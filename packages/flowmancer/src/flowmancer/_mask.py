"""Secrets in parameters, masked wherever Flowmancer shows or keeps parameter values outside the
task (the run record and its report).

The rule, documented in the README ("Secrets in parameters"):

- a value is masked when its name — a parameter's, or a key anywhere inside a mapping,
  dataclass or pydantic model — looks secret: it holds ``password``, ``passwd``,
  ``passphrase``, ``secret``, ``token``, ``credential`` or ``apikey`` anywhere, or has ``key``,
  ``auth``, ``pwd``, ``authorization``, ``cookie`` or ``signature`` as a word of its own (words
  split at ``_``, ``-``, ``.``, spaces and camelCase, case ignored): ``db_password``,
  ``apiKey``, ``X-Auth-Token``, ``ssh-key``, ``sort_key`` are masked; ``author``, ``keyboard``,
  ``monkey`` are not;
- in any text, a URL's password (``postgres://me:***@db/x``) and a query parameter whose name
  looks secret (``?token=***``) are masked;
- on the command line, ``--var KEY=VALUE`` is masked by ``KEY`` the same way;
- masked values read ``***``; ``None`` and empty values are shown as they are.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["MASK", "is_secret_name", "mask_command", "mask_parameters", "mask_value"]

MASK = "***"
# Anywhere in a name (tokenizer is over-masked; a leak would be worse).
_INSIDE = re.compile(r"password|passwd|passphrase|secret|token|credential|apikey")
# As a word of the name.
_WORDS = frozenset({"key", "keys", "auth", "pwd", "authorization", "cookie", "signature"})
_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/?#@\s]*:)[^@/\s]+(?=@)")
_QUERY = re.compile(r"(?P<head>[?&;](?P<name>[^=&;#\s]+)=)(?P<value>[^&;#\s]*)")


def is_secret_name(name: object) -> bool:
    """True when ``name`` looks like the name of a secret, by the rule above."""
    words = [w.lower() for w in _SPLIT.split(str(name)) if w]
    return bool(_INSIDE.search("_".join(words))) or any(w in _WORDS for w in words)


def _mask_text(text: str) -> str:
    if "://" in text:
        text = _URL_PASSWORD.sub(r"\g<head>" + MASK, text)
    if "=" in text:
        text = _QUERY.sub(
            lambda m: m["head"] + MASK if m["value"] and is_secret_name(m["name"]) else m[0],
            text,
        )
    return text


def mask_value(name: object, value: Any) -> Any:
    """``value`` as plain data (text, numbers, lists, mappings) that may be shown: masked whole
    when ``name`` names a secret, else with the secrets inside it masked (values under secret
    keys of mappings and of dataclasses or pydantic models, URL passwords and secret query
    parameters in text)."""
    if value is None:
        return value
    if isinstance(value, (str, Mapping, list, tuple, set, frozenset)) and not value:
        return value if isinstance(value, (str, Mapping, list)) else []
    if is_secret_name(name):
        return MASK
    if isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return _mask_text(value)
    if isinstance(value, Mapping):
        return {str(k): mask_value(k, v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [mask_value("", v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name, None) for f in dataclasses.fields(value)}
        return mask_value("", fields)
    dump = getattr(value, "model_dump", None)  # a pydantic model
    if callable(dump):
        try:
            return mask_value("", dump())
        except Exception:
            pass
    if isinstance(value, enum.Enum):
        return mask_value("", value.value)
    isoformat = getattr(value, "isoformat", None)  # dates and times
    if callable(isoformat):
        return str(isoformat())
    return mask_value("", _text(value))


def _text(value: object) -> str:
    try:
        return str(value)
    except Exception:
        return f"<unprintable {type(value).__name__}>"


def mask_parameters(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Every parameter as plain data that may be shown (see ``mask_value``)."""
    return {name: mask_value(name, value) for name, value in parameters.items()}


def mask_command(argv: Sequence[str]) -> list[str]:
    """A command line as it may be shown: ``--var KEY=VALUE`` values masked by ``KEY`` (and
    URL passwords anywhere)."""
    out: list[str] = []
    for i, arg in enumerate(argv):
        text = str(arg)
        if text.startswith("--var="):
            text = "--var=" + _masked_pair(text[len("--var=") :])
        elif i and str(argv[i - 1]) == "--var":
            text = _masked_pair(text)
        else:
            text = mask_value("", text)
        out.append(text)
    return out


def _masked_pair(pair: str) -> str:
    key, eq, value = pair.partition("=")
    return f"{key}={mask_value(key, value)}" if eq else str(mask_value("", pair))
