"""The distribution installs, imports and ships its typing marker."""

import importlib.resources

import flowmancer_checkpoint


def test_version_moves_with_the_other_packages() -> None:
    assert flowmancer_checkpoint.__version__ == "0.13.0"


def test_public_names_are_sorted_and_exist() -> None:
    assert flowmancer_checkpoint.__all__ == sorted(flowmancer_checkpoint.__all__)
    for name in flowmancer_checkpoint.__all__:
        assert getattr(flowmancer_checkpoint, name).__doc__


def test_the_package_ships_py_typed() -> None:
    assert importlib.resources.files("flowmancer_checkpoint").joinpath("py.typed").is_file()
