"""Job files: the 0.12 schema and the new keys, variables, includes, matrix, and every mistake
reported at its file, line and column."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest

from flowmancer._jobfile._load import read_job
from flowmancer._jobfile._problems import JobFileError
from flowmancer._jobfile._schema import PluginDefinition


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def problems_of(path: Path, **kwargs: object) -> list[str]:
    with pytest.raises(JobFileError) as info:
        read_job(path, app_root=path.parent, **kwargs)  # type: ignore[arg-type]
    return [str(p) for p in info.value.problems]


def test_a_0_12_job_file_reads_with_0_12_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "job.yaml",
        """
        version: 0.1
        config:
          name: nightly
          synchro_interval_seconds: 0.5
        tasks:
          extract:
            task: Extract
            parameters: {day: 2026-11-26, rows: 10}
          load:
            task: Load
            dependencies: [extract]
            max_attempts: 3
            backoff: 2
        """,
    )
    job, marks = read_job(path, app_root=tmp_path)
    assert job.config.name == "nightly" and job.config.max_concurrency == 0
    assert list(job.tasks) == ["extract", "load"]
    load = job.tasks["load"]
    assert (load.task, load.dependencies, load.max_attempts, load.backoff) == (
        "Load",
        ["extract"],
        3,
        2.0,
    )
    assert job.loggers == {"file-logger": PluginDefinition("FileLogger")}
    assert job.extensions == {"progress-bar": PluginDefinition("RichProgressBar")}
    assert job.checkpointer == PluginDefinition("FileCheckpointer")
    assert str(marks["tasks.load.max_attempts"]) == f"{path}:12:5"


def test_variables_are_substituted_in_plain_values_and_quoted_ones_stay_literal(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        "job.yaml",
        """
        config:
          name: $VAR{job:nightly}-$ENV{STAGE}
        tasks:
          load:
            task: Load
            max_attempts: $VAR{tries:3}
            parameters:
              root: $SYS{APP_ROOT_DIR}/data
              url: $ENV{URL:http://localhost:8080/x}
              quoted: "$VAR{tries:3}"
              single: '$ENV{HOME}'
              block: |
                $VAR{job}
              unclosed_but_quoted: "$VAR{x"
        """,
    )
    job, _ = read_job(
        path, app_root=tmp_path, variables={"job": "daily"}, environ={"STAGE": "prod"}
    )
    assert job.config.name == "daily-prod"
    load = job.tasks["load"]
    assert load.max_attempts == 3  # outside parameters: a number, as if written 3
    assert load.parameters == {
        "root": f"{tmp_path}/data",
        "url": "http://localhost:8080/x",  # the default runs to the closing brace
        # Quoted and block scalars are text as written, as in 0.12: the escape.
        "quoted": "$VAR{tries:3}",
        "single": "$ENV{HOME}",
        "block": "$VAR{job}\n",
        "unclosed_but_quoted": "$VAR{x",
    }


def test_an_unset_variable_without_default_is_an_error_naming_it(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "job.yaml",
        """
        tasks:
          load:
            task: Load
            parameters:
              table: $VAR{table}
              key: $ENV{API_KEY}
        """,
    )
    found = problems_of(path, environ={})
    assert found == [
        f"{path}:5:14: tasks.load.parameters.table: $VAR{{table}} is not set (pass --var "
        "table=VALUE or give a default: $VAR{table:default})",
        f"{path}:6:12: tasks.load.parameters.key: $ENV{{API_KEY}} is not set (set the environment "
        "variable or give a default: $ENV{API_KEY:default})",
    ]


def test_includes_merge_in_order_dicts_merge_lists_replace(tmp_path: Path) -> None:
    write(
        tmp_path,
        "common/base.yaml",
        """
        config: {name: base, max_concurrency: 2, extension_directories: [a, b]}
        tasks:
          extract: {task: Extract, parameters: {rows: 1, day: mon}}
        """,
    )
    write(tmp_path, "common/more.yaml", "config: {max_concurrency: 4}\n")
    path = write(
        tmp_path,
        "jobs/job.yaml",
        """
        include: [common/base.yaml, common/more.yaml]
        config: {name: mine, extension_directories: [c]}
        tasks:
          extract: {parameters: {rows: 5}}
        """,
    )
    job, _ = read_job(path, app_root=tmp_path)  # include paths: from the driver's folder
    assert job.config.name == "mine" and job.config.max_concurrency == 4
    assert job.config.extension_directories == ["c"]
    assert job.tasks["extract"].task == "Extract"
    assert job.tasks["extract"].parameters == {"rows": 5, "day": "mon"}


def test_an_include_loop_and_a_missing_include_are_errors(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "include: [b.yaml]\ntasks: {x: {task: X}}\n")
    write(tmp_path, "b.yaml", "include: [a.yaml, missing.yaml]\n")
    found = problems_of(tmp_path / "a.yaml")
    assert any(
        "loops back to a file being read: " in p and "a.yaml -> " in p and "b.yaml -> " in p
        for p in found
    )
    assert any(f"included file not found: {tmp_path / 'missing.yaml'}" in p for p in found)


def test_aliases_anchors_and_merge_keys(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "job.yaml",
        """
        aliases:
          retrying: &retrying {max_attempts: 4, backoff: 1}
        tasks:
          a: {task: A, <<: *retrying}
          b: {task: B, <<: *retrying, max_attempts: 2}
        """,
    )
    job, _ = read_job(path, app_root=tmp_path)
    assert (job.tasks["a"].max_attempts, job.tasks["a"].backoff) == (4, 1.0)
    assert job.tasks["b"].max_attempts == 2


def test_unknown_keys_suggest_the_closest_valid_one(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "job.yaml",
        """
        confg: {name: x}
        tasks:
          load:
            task: Load
            max_attempt: 3
            dependecies: [x]
        """,
    )
    found = problems_of(path)
    assert found[0].startswith(f"{path}:1:1: confg: unknown key (did you mean 'config'?)")
    assert found[1].startswith(
        f"{path}:5:5: tasks.load.max_attempt: unknown key (did you mean "
        "'max_attempts'?); valid keys here: task, dependencies,"
    )
    assert found[2].startswith(
        f"{path}:6:5: tasks.load.dependecies: unknown key (did you mean 'dependencies'?)"
    )


def test_every_wrong_value_is_reported_together_in_file_order(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "job.yaml",
        """
        config:
          max_concurrency: -1
          executor: procss
          pools: {db: 0}
        tasks:
          load:
            task: Load
            max_attempts: many
            backoff: -2
            jitter: maybe
            timeout: 0
            trigger_rule: any_failed
            dependencies: extract
        """,
    )
    found = problems_of(path)
    assert found == [
        f"{path}:2:3: config.max_concurrency: expected a whole number >= 0, got -1",
        f"{path}:3:3: config.executor: expected one of process, thread, dask, got 'procss' "
        "(did you mean 'process'?)",
        f"{path}:4:11: config.pools.db: expected a whole number >= 1, got 0",
        f"{path}:8:5: tasks.load.max_attempts: expected a whole number >= 1, got 'many'",
        f"{path}:9:5: tasks.load.backoff: expected a number >= 0, got -2",
        f"{path}:10:5: tasks.load.jitter: expected true or false, got 'maybe'",
        f"{path}:11:5: tasks.load.timeout: expected a number > 0, got 0",
        f"{path}:12:5: tasks.load.trigger_rule: expected one of all_success, all_done, "
        "one_failed, finally, got 'any_failed' (did you mean 'one_failed'?)",
        f"{path}:13:5: tasks.load.dependencies: expected a list of names, got 'extract'",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tasks:\n  a: {task: A\n", "YAML syntax error"),
        ("tasks:\n\ta: 1\n", "YAML syntax error"),
        ("- just\n- a list\n", "expected a mapping of keys to values, got a list"),
        ("config: {name: x}\n", "tasks: a job needs at least one task"),
        ("", "the file is empty: a job file needs at least a tasks: section"),
        ("tasks:\n  a: {task: A, parameters: {x: $VAR{x}}}\n", '"x: $VAR{x}" on a line of its own'),
        ("tasks: {}\n", "tasks: a job needs at least one task"),
        ("tasks:\n  a: {task: A}\n  a: {task: B}\n", "tasks.a: 'a' is given twice"),
        ("tasks:\n  a: {parameters: {}}\n", "tasks.a.task: missing: the name of the @task class"),
        ("tasks:\n  a: {task: A, matrix: {x: []}}\n", "expected a non-empty list of values"),
        ("tasks:\n  a: {task: A, parameters: {x: 1}, matrix: {x: [2]}}\n", "in one place"),
        ("tasks: {a: {task: A}}\ncheckpointer: {checkpointer: 5}\n", "expected a non-empty"),
    ],
)
def test_broken_files_give_one_clear_message_each(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, "job.yaml", text)
    found = problems_of(path)
    assert any(expected in p for p in found), found
    assert all(p.startswith(f"{path}:") for p in found)


def test_a_missing_job_file_is_named(tmp_path: Path) -> None:
    assert problems_of(tmp_path / "nope.yaml") == [f"{tmp_path / 'nope.yaml'}: no such file"]


def test_a_matrix_expands_into_one_task_per_combination(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "job.yaml",
        """
        tasks:
          extract: {task: Extract}
          load:
            task: Load
            dependencies: [extract]
            parameters: {mode: full}
            matrix: {region: [eu, us], year: [2025, 2026]}
          report: {task: Report, dependencies: [load]}
        """,
    )
    job, _ = read_job(path, app_root=tmp_path)
    members = ["load[eu,2025]", "load[eu,2026]", "load[us,2025]", "load[us,2026]"]
    assert list(job.tasks) == ["extract", *members, "report"]
    assert job.tasks["load[us,2025]"].parameters == {"mode": "full", "region": "us", "year": 2025}
    assert job.tasks["load[eu,2026]"].dependencies == ["extract"]
    assert job.tasks["report"].dependencies == members


def test_plugins_take_the_short_form_and_parameters(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "job.yaml",
        """
        tasks: {a: {task: A}}
        loggers:
          file: {logger: FileLogger, parameters: {base_log_dir: ./logs, retention_days: 3}}
        extensions: {}
        checkpointer: SQLiteCheckpointer
        """,
    )
    job, _ = read_job(path, app_root=tmp_path)
    assert job.loggers == {
        "file": PluginDefinition("FileLogger", {"base_log_dir": "./logs", "retention_days": 3})
    }
    assert job.extensions == {}
    assert job.checkpointer == PluginDefinition("SQLiteCheckpointer")


def test_substituted_values_stay_text_in_parameters_and_take_yaml_types_elsewhere(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        "job.yaml",
        """
        aliases:
          shared: &shared
            from_alias: $VAR{n}
        config:
          max_concurrency: $VAR{n}
        tasks:
          t:
            task: T
            max_attempts: $VAR{n}
            jitter: $VAR{flag}
            max_backoff: $VAR{none}
            parameters:
              <<: *shared
              day: $VAR{day}
              code: $VAR{code}
              n: $VAR{n}
              x: $VAR{x}
              on: $VAR{flag}
              nothing: $VAR{none}
              nested: {list: [a], deeper: {k: v}}
              items:
                - $VAR{n}
                - k: $VAR{x}
            matrix:
              m:
                - $VAR{n}
        loggers:
          file:
            logger: FileLogger
            parameters:
              retention_days: $VAR{n}
        """,
    )
    values = {
        "day": "2026-11-26",
        "code": "0123",
        "n": "42",
        "x": "1.5",
        "flag": "True",
        "none": "null",
    }
    job, _ = read_job(path, app_root=tmp_path, variables=values)
    # The text 0.12 produced: each parameter's annotation converts it ('42' for str, 42 for int).
    assert job.tasks["t[42]"].parameters == {
        "from_alias": "42",
        "day": "2026-11-26",
        "code": "0123",
        "n": "42",
        "x": "1.5",
        "on": "True",
        "nothing": "null",
        "nested": {"list": ["a"], "deeper": {"k": "v"}},
        "items": ["42", {"k": "1.5"}],
        "m": "42",
    }
    assert all(type(v) is str for v in job.tasks["t[42]"].parameters["items"][:1])
    assert job.loggers["file"].parameters == {"retention_days": "42"}
    # Outside parameters: as YAML reads the same plain text (numbers, true/false, null).
    assert job.config.max_concurrency == 42
    assert (job.tasks["t[42]"].max_attempts, job.tasks["t[42]"].jitter) == (42, True)
    assert job.tasks["t[42]"].max_backoff is None


def test_keys_of_parameter_values_keep_their_yaml_type(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "job.yaml",
        """
        tasks:
          1:
            task: T
            parameters:
              2: two
              mapping: {1: a, "2": b, 1.5: c, null: d, 2026-01-02: e}
        """,
    )
    job, _ = read_job(path, app_root=tmp_path)
    assert list(job.tasks) == ["1"]  # task and parameter names are their text
    parameters = job.tasks["1"].parameters
    assert list(parameters) == ["2", "mapping"]
    assert all(type(k) is str for k in [*job.tasks, *parameters])
    assert parameters["mapping"] == {
        1: "a",
        "2": "b",
        1.5: "c",
        None: "d",
        dt.date(2026, 1, 2): "e",
    }


def test_keys_keep_their_text(tmp_path: Path) -> None:
    path = write(tmp_path, "job.yaml", "tasks:\n  yes: {task: A}\n  0x10: {task: B}\n")
    job, _ = read_job(path, app_root=tmp_path)
    assert list(job.tasks) == ["yes", "0x10"]


def test_nested_aliases_cannot_blow_up(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    path = write(
        tmp_path,
        "job.yaml",
        "aliases:\n" + "\n".join("  " + x for x in lines) + "\ntasks: {t: {task: T}}\n",
    )
    assert any("expand the job past the limit for aliases" in p for p in problems_of(path))


def test_a_variable_inside_a_default_is_named(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "job.yaml",
        "tasks:\n  t:\n    task: T\n    parameters:\n      m: $VAR{m:$ENV{HOME}}\n",
    )
    assert any("a variable inside another's default" in p for p in problems_of(path))


def test_a_value_given_for_a_variable_is_taken_as_it_is(tmp_path: Path) -> None:
    # A --var value (or an environment variable) holding "$VAR{y}" is text, not a reference.
    path = write(
        tmp_path, "job.yaml", "tasks:\n  t:\n    task: T\n    parameters:\n      m: $VAR{x}\n"
    )
    job, _ = read_job(path, app_root=tmp_path, variables={"x": "$VAR{y}"})
    assert job.tasks["t"].parameters == {"m": "$VAR{y}"}


def test_0_12_field_names_variant_and_depends_on_are_read_as_their_aliases(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        "job.yaml",
        """
        tasks:
          extract: {variant: Extract}
          load: {variant: Load, depends_on: [extract], max_attempts: 2}
        loggers:
          file: {variant: FileLogger, parameters: {retention_days: 3}}
        extensions:
          bar: {variant: RichProgressBar}
        checkpointer:
          variant: SQLiteCheckpointer
        """,
    )
    job, _ = read_job(path, app_root=tmp_path)
    assert (job.tasks["load"].task, job.tasks["load"].dependencies) == ("Load", ["extract"])
    assert job.tasks["extract"].task == "Extract"
    assert job.loggers == {"file": PluginDefinition("FileLogger", {"retention_days": 3})}
    assert job.extensions == {"bar": PluginDefinition("RichProgressBar")}
    assert job.checkpointer == PluginDefinition("SQLiteCheckpointer")


def test_both_spellings_in_one_entry_is_an_error_naming_both(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "job.yaml",
        """
        tasks:
          extract: {task: Extract}
          load:
            task: Load
            variant: Load
            dependencies: [extract]
            depends_on: [extract]
        loggers:
          file: {logger: FileLogger, variant: FileLogger}
        """,
    )
    assert problems_of(path) == [
        f"{path}:5:5: tasks.load.variant: 'variant' and 'task' are two names for one value; "
        "give one",
        f"{path}:7:5: tasks.load.depends_on: 'depends_on' and 'dependencies' are two names for "
        "one value; give one",
        f"{path}:9:30: loggers.file.variant: 'variant' and 'logger' are two names for one "
        "value; give one",
    ]


def test_a_bad_value_under_a_0_12_name_is_reported_under_that_name(tmp_path: Path) -> None:
    path = write(tmp_path, "job.yaml", "tasks:\n  load: {variant: Load, depends_on: 3}\n")
    assert problems_of(path) == [
        f"{path}:2:25: tasks.load.depends_on: expected a list of names, got 3"
    ]
