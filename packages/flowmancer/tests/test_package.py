"""The distribution installs, imports and ships its typing marker."""

import importlib.resources

import flowmancer


def test_version_moves_with_the_other_packages() -> None:
    assert flowmancer.__version__ == "0.13.0"


def test_public_names_are_sorted_and_exist() -> None:
    assert flowmancer.__all__ == sorted(flowmancer.__all__)
    for name in flowmancer.__all__:
        assert getattr(flowmancer, name).__doc__


def test_the_package_ships_py_typed() -> None:
    assert importlib.resources.files("flowmancer").joinpath("py.typed").is_file()
