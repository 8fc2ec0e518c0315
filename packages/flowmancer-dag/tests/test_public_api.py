"""The package's public surface: re-exported, documented, typed."""

import importlib.resources

import flowmancer_dag


def test_all_is_sorted_and_every_name_exists_and_is_documented() -> None:
    names = flowmancer_dag.__all__
    assert names == sorted(names)
    for name in names:
        obj = getattr(flowmancer_dag, name)
        assert obj.__doc__, f"{name} has no docstring"
        assert obj.__module__.startswith("flowmancer_dag")


def test_public_methods_are_documented() -> None:
    for cls in (flowmancer_dag.Graph, flowmancer_dag.Run):
        for attr, value in vars(cls).items():
            if attr.startswith("_") or (not callable(value) and not isinstance(value, property)):
                continue
            assert value.__doc__, f"{cls.__name__}.{attr} has no docstring"


def test_the_package_ships_py_typed() -> None:
    assert importlib.resources.files("flowmancer_dag").joinpath("py.typed").is_file()


def test_version() -> None:
    assert flowmancer_dag.__version__ == "0.13.0"
