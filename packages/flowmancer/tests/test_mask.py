"""The masking rule for secrets in parameters (README: "Secrets in parameters")."""

from __future__ import annotations

import dataclasses
import datetime
import enum
from pathlib import Path

import pytest

from flowmancer._mask import is_secret_name, mask_command, mask_parameters


@pytest.mark.parametrize(
    "name",
    [
        "password",
        "db_password",
        "DB_PASSWORD",
        "apiKey",
        "api_key",
        "X-Auth-Token",
        "client.secret",
        "privateKey",
        "aws_access_key_id",
        "passphrase",
        "pwd",
        "credentials",
        "session_cookie",
        "SecretKey",
        "ssh-key",
        "sort_key",
        "tokenizer",
        "AUTH",
    ],
)
def test_names_that_look_secret_are_secret(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize(
    "name",
    ["author", "authority", "keyboard", "passes", "monkey", "path", "turnkeys", "pw"],
)
def test_names_that_only_look_like_one_are_not(name: str) -> None:
    assert not is_secret_name(name)


class Colour(enum.Enum):
    RED = "red"


@dataclasses.dataclass
class Login:
    user: str
    password: str


def test_parameters_become_plain_data_with_secrets_masked_at_any_depth() -> None:
    masked = mask_parameters(
        {
            "db_password": "hunter2",
            "pin_code": 1234,
            "pwd": 99,
            "url": "postgres://me:hunter2@db:5432/x?sslmode=require",
            "plain_url": "https://example.org/a:b@c",
            "feed": "https://example.org/feed?page=2&access_token=abc&sort=asc",
            "settings": {"token": "t", "retries": 3, "nested": [{"api_key": "k"}]},
            "login": Login("me", "hunter2"),
            "when": datetime.date(2026, 11, 26),
            "colour": Colour.RED,
            "where": Path("/srv/data"),
            "empty_secret": "",
            "no_secret": None,
            "tags": ("a", "b"),
        }
    )
    assert masked == {
        "db_password": "***",
        "pin_code": 1234,
        "pwd": "***",
        "url": "postgres://me:***@db:5432/x?sslmode=require",
        "plain_url": "https://example.org/a:b@c",
        "feed": "https://example.org/feed?page=2&access_token=***&sort=asc",
        "settings": {"token": "***", "retries": 3, "nested": [{"api_key": "***"}]},
        "login": {"user": "me", "password": "***"},
        "when": "2026-11-26",
        "colour": "red",
        "where": "/srv/data",
        "empty_secret": "",
        "no_secret": None,
        "tags": ["a", "b"],
    }


def test_var_values_on_the_command_line_are_masked_by_their_key() -> None:
    assert mask_command(
        [
            "main.py",
            "--var",
            "db_password=x=y",
            "--var=api_token=t",
            "--var",
            "day=1",
            "-j",
            "s3://k:v@b/j",
        ]
    ) == [
        "main.py",
        "--var",
        "db_password=***",
        "--var=api_token=***",
        "--var",
        "day=1",
        "-j",
        "s3://k:***@b/j",
    ]
