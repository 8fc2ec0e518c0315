"""The parent of the packages flowmancer makes over folders that have no ``__init__.py``.

``./tasks`` without ``__init__.py`` is imported as ``flowmancer._folders.tasks_<hash>`` (the
hash of its real path), so its modules' names cannot clash with an installed package or with
another folder's modules. Nothing is defined here: the children are made by discovery.
"""

# A package (it has a search path), though none of its children are found there.
__path__: list[str] = []
