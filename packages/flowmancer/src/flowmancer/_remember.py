"""What a run leaves in its checkpoint for the resume after it: the ``--var`` values it was
started with, and each task's definition in enough detail to say what changed — with secrets
masked.

A value is shown as ``***`` (and only its digest kept) when the parameter's name looks secret
(the rule of ``_mask``: ``password``, ``token``, ``apiKey``, ``ssh-key``...; not ``keyboard``),
when its value written out has such a name in it (a field ``password=`` of a model), or when it
holds text that came from the environment (``$ENV{...}``, where secrets usually live) or from a
``--var`` whose name looks secret; a URL's password and a secret query parameter in it are
masked in place (``postgres://me:***@db/x``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._mask import MASK, is_secret_name, mask_text

if TYPE_CHECKING:
    from flowmancer_checkpoint import Definition
    from flowmancer_exec import Runner

    from ._jobfile._schema import JobDefinition

__all__ = ["RecordingEnviron", "definitions", "remembered_variables", "secret_texts"]


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
    texts = {v for k, v in variables.items() if is_secret_name(k)}
    if environ is not None:
        texts |= environ.read
    return {t for t in texts if t}


def shown(name: str, value: Any, secrets: set[str]) -> str:
    """A parameter's value as ``plan -r`` may print it (and a checkpoint may keep it)."""
    if is_secret_name(name):
        return MASK
    text = repr(value)
    plain = str(value)
    if is_secret_name(text) or any(s in text or s in plain for s in secrets):
        return MASK
    text = mask_text(text)
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
