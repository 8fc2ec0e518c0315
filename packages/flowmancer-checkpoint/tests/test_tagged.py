"""shared_dict values round-trip through tagged JSON; nothing else is accepted or evaluated."""

from __future__ import annotations

import datetime
import decimal
import json
import math
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowmancer_checkpoint._tagged import UnencodableError, decode, encode

SAMPLES: list[Any] = [
    None,
    True,
    0,
    -(2**70),
    1.5,
    "ünïcode ☃",
    [1, [2, [3]]],
    {"a": {"b": [1, 2]}},
    datetime.datetime(2026, 11, 26, 14, 3, 7, 123456),
    datetime.datetime(
        2026, 11, 26, 14, 3, 7, tzinfo=datetime.timezone(datetime.timedelta(hours=2))
    ),
    datetime.date(2026, 11, 26),
    datetime.time(14, 3, 7),
    datetime.timedelta(days=2, seconds=5, microseconds=7),
    decimal.Decimal("3.14159265358979323846"),
    {1, 2, 3},
    frozenset({"a", "b"}),
    (1, "two", (3.0,)),
    b"\x00\xffbytes",
    Path("/tmp/out.csv"),
    PurePosixPath("rel/path"),
    {1: "int key", (2, 3): "tuple key"},
    {"$type": "a user key that looks like a tag"},
    float("inf"),
    float("-inf"),
]


@pytest.mark.parametrize("value", SAMPLES, ids=lambda v: type(v).__name__)
def test_supported_values_come_back_equal_and_of_the_same_type(value: Any) -> None:
    text = json.dumps(encode(value), allow_nan=False)
    back = decode(json.loads(text))
    assert back == value and type(back) is type(value)


def test_nan_comes_back_as_nan() -> None:
    assert math.isnan(decode(json.loads(json.dumps(encode(float("nan")), allow_nan=False))))


def test_sets_encode_the_same_under_any_order() -> None:
    assert encode({"b", "a", "c"}) == encode({"c", "b", "a"})


@pytest.mark.parametrize(
    "value",
    [object(), lambda: 1, open, {"ok": 1, "bad": [object()]}, type("Custom", (), {})()],
)
def test_other_values_are_refused_with_where_they_are(value: Any) -> None:
    with pytest.raises(UnencodableError) as info:
        encode(value)
    if isinstance(value, dict):
        assert info.value.where == "['bad'][0]"
        assert "object cannot be saved as JSON (at ['bad'][0])" in str(info.value)


@pytest.mark.parametrize(
    "data",
    [
        {"$pickle": "gASVAAAA"},
        {"$datetime": 5},
        {"$bytes": "not base64!"},
        {"$timedelta": [1, 2]},
        {"$dict": [[{"$list": []}, 1]]},
        {"$dict": [[[1, 2], "unhashable key"]]},
        {"$float": "1e400"},
    ],
)
def test_unknown_or_malformed_tags_are_errors_not_code(data: Any) -> None:
    with pytest.raises(ValueError, match="unknown tag|bad '"):
        decode(data)


json_leaves = st.none() | st.booleans() | st.integers() | st.text() | st.floats(allow_nan=False)
rich_leaves = (
    json_leaves
    | st.binary()
    | st.datetimes()
    | st.dates()
    | st.decimals(allow_nan=False)
    | st.builds(Path, st.text(min_size=1).filter(lambda s: "\x00" not in s))
)
values = st.recursive(
    rich_leaves,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(), inner, max_size=4)
        | st.frozensets(st.integers() | st.text(), max_size=4)
    ),
    max_leaves=20,
)


@given(values)
def test_any_nesting_of_supported_values_round_trips(value: Any) -> None:
    assert decode(json.loads(json.dumps(encode(value), allow_nan=False))) == value
