"""What a run leaves in its checkpoint for the resume after it: the ``--var`` values it was
started with, and each task's definition in enough detail to say what changed — with secrets
masked.

A value is shown as ``***`` (and only its digest kept) when the parameter's name looks secret
(``password``, ``passwd``, ``passphrase``, ``secret``, ``token``, ``credential``, ``auth`` or
``key`` as a word of it: ``api_key``, ``apiKey``, ``ssh-key``; not ``keyboard``), when its value
written out has such a word in it (a field ``password=`` of a model, ``?token=`` in a URL), or
when it holds text that came from the environment (``$ENV{...}``, where secrets usually live)
or from a ``--var`` whose name looks secret.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flowmancer_checkpoint import Definition
    from flowmancer_exec import Runner

    from ._jobfile._schema import JobDefinition

__all__ = ["HIDDEN", "RecordingEnviron", "definitions", "looks_secret", "remembered_variables"]

HIDDEN = "***"
_SECRET = re.compile(
    r"password|passwd|passphrase|secret|token|credential|apikey"
    r"|(^|[^a-z0-9])(key|auth)([^a-z0-9]|$)"
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def looks_secret(name: str) -> bool:
    """True when a parameter or variable called ``name`` probably holds a secret."""
    words = _CAMEL.sub("_", name).lower().replace("-", "_").replace(" ", "_")
    return bool(_SECRET.search(words))


class RecordingEnviron(Mapping[str, str]):
    """The environment as the job file reads it, remembering every value read through it."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        self.read: set[str] = set()

    def __getitem__(self, name: str) -> str:
        value = self._environ[name]
        self.read.add(value)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._environ)

    def __len__(self) -> int:
        return len(self._environ)


def secret_texts(variables: Mapping[str, str], environ: RecordingEnviron | None) -> set[str]:
    """Text that must not be shown wherever it appears: environment values the job file read,
    and the values of variables whose names look secret."""
    texts = {v for k, v in variables.items() if looks_secret(k)}
    if environ is not None:
        texts |= environ.read
    return {t for t in texts if t}


def shown(name: str, value: Any, secrets: set[str]) -> str:
    """A parameter's value as ``plan -r`` may print it (and a checkpoint may keep it)."""
    if looks_secret(name):
        return HIDDEN
    text = repr(value)
    plain = str(value)
    if looks_secret(text) or any(s in text or s in plain for s in secrets):
        return HIDDEN
    return text if len(text) <= 60 else text[:57] + "..."


def definitions(runner: Runner, secrets: set[str]) -> dict[str, Definition]:
    """Each task's ``Definition`` as the run is about to start."""
    from flowmancer_checkpoint import Definition
    from flowmancer_exec import code_digest, value_digest

    prepared = runner.prepared
    out: dict[str, Definition] = {}
    for name in prepared.specs:
        cls = prepared.classes[name]
        parameters = {
            key: (value_digest(value), shown(key, value, secrets))
            for key, value in prepared.parameters[name].items()
        }
        out[name] = Definition(cls.__name__, code_digest(cls), parameters)
    return out


def remembered_variables(job: JobDefinition, root: Path) -> dict[str, str]:
    """The ``--var`` values kept in the job's checkpoint (none when there is no checkpoint,
    or it cannot be read: the resume itself then says why)."""
    from ._jobfile._problems import Problems
    from ._plugins import build_checkpointer

    problems = Problems({}, "<job>")
    if job.checkpointer.variant not in ("FileCheckpointer", "SQLiteCheckpointer"):
        from ._discover import discover  # a checkpointer of the user's: find it first

        config = job.config
        if discover(root, config.extension_directories, config.extension_packages):
            return {}  # the run reports what is wrong
    store = build_checkpointer(job.checkpointer, root, problems)
    if problems.items or store is None:
        return {}
    try:
        record = store.load(job.config.name)
    except Exception:  # a damaged checkpoint: the resume reports it, with its place
        return {}
    finally:
        close = getattr(store, "close", None)
        if close is not None:
            close()
    return dict(getattr(record, "variables", {}) or {}) if record is not None else {}
