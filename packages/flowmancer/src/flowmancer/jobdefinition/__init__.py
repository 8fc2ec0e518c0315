"""``flowmancer.jobdefinition`` as in Flowmancer 0.12: the job definition's parts.

The names 0.12 had map onto this version's dataclasses: ``ConfigurationDefinition`` is
``Config``, and loggers, extensions and the checkpointer are ``PluginDefinition``s.
"""

from .._jobfile._schema import Config as ConfigurationDefinition
from .._jobfile._schema import JobDefinition, PluginDefinition, TaskDefinition
from .file import LoadParams

LoggerDefinition = ExtensionDefinition = CheckpointerDefinition = PluginDefinition

__all__ = [
    "CheckpointerDefinition",
    "ConfigurationDefinition",
    "ExtensionDefinition",
    "JobDefinition",
    "LoadParams",
    "LoggerDefinition",
    "PluginDefinition",
    "TaskDefinition",
]
