"""The distribution installs, imports and ships its typing marker; its surface is documented."""

import importlib.resources
import inspect

import flowmancer_log
import flowmancer_log.testing
import flowmancer_log.typing


def test_version_moves_with_the_other_packages() -> None:
    assert flowmancer_log.__version__ == "0.13.0"


def test_public_names_are_sorted_and_exist() -> None:
    for module in (flowmancer_log, flowmancer_log.testing, flowmancer_log.typing):
        assert module.__all__ == sorted(module.__all__)
        for name in module.__all__:
            assert getattr(module, name).__doc__, f"{module.__name__}.{name} has no docstring"


def test_public_methods_are_documented() -> None:
    for module in (flowmancer_log, flowmancer_log.testing):
        for name in module.__all__:
            obj = getattr(module, name)
            if not inspect.isclass(obj) or obj.__module__ == "flowmancer_log.typing":
                continue  # the protocols' fields are described in their class docstrings
            for attr, value in vars(obj).items():
                if attr.startswith("_") or not (callable(value) or isinstance(value, property)):
                    continue
                assert value.__doc__, f"{name}.{attr} has no docstring"


def test_the_package_ships_py_typed() -> None:
    assert importlib.resources.files("flowmancer_log").joinpath("py.typed").is_file()
