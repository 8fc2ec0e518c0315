"""``flowmancer.jobdefinition.file``: reading YAML job files, as 0.12's ``YAMLJobDefinition``."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping

from .._jobfile._load import read_job
from .._jobfile._schema import JobDefinition

__all__ = ["LoadParams", "YAMLJobDefinition"]


@dataclasses.dataclass
class LoadParams:
    """Where relative paths start (the driver's folder)."""

    APP_ROOT_DIR: str = "."


class YAMLJobDefinition:
    """Loads a YAML job file (includes, variables and every check applied)."""

    def load(
        self,
        filename: str | os.PathLike[str],
        params: LoadParams | None = None,
        vars: Mapping[str, str] | None = None,
    ) -> JobDefinition:
        """The job in ``filename``.

        Raises:
            JobFileError: every problem, at its file, line and column.
        """
        root = (params or LoadParams()).APP_ROOT_DIR
        job, _ = read_job(filename, app_root=root, variables=vars)
        return job
