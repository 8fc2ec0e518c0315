"""The job file reader that builds data straight from libyaml's events (no node tree) gives
exactly what reading through ``compose`` gives: the same data, the same problems in the same
words and places — for every file of the bad-input corpus and for files made from them by
random edits (a fixed seed: the same files every run)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from flowmancer._jobfile import _events, _yaml
from flowmancer._jobfile._load import read_job
from flowmancer._jobfile._problems import JobFileError, Problems
from flowmancer._jobfile._settle import settle

CORPUS = Path(__file__).parent / "corpus"
VARIABLES = _yaml.Variables(var={"x": "1"}, env={"HOME": "/home/u"}, sys={"APP_ROOT_DIR": "/r"})
# What random edits insert: YAML's punctuation, tags, variables, merge keys, typed keys.
PIECES = (
    *("  ", "- ", ": ", "{", "}", "[", "]", ",", "'", '"', "? ", "|", ">", "#", "\n"),
    *("$VAR{x}", "$ENV{HOME}", "$VAR{y}", "!!int ", "!!str ", "!!python/none ", "!foo "),
    *("<<: ", "1: ", "yes: ", "null", "~", "2026-02-30", "0x10", ".inf", "---\n", "...\n"),
)


def _through_compose(text: str) -> tuple[Any, list[str]] | None:
    problems = Problems()
    node = _yaml._compose("job.yaml", text, problems)
    if node is False:
        return None
    if node is None:
        return "no document", []
    builder = _yaml._Builder("job.yaml", VARIABLES, problems, text)
    data = builder.build(node, "")
    if builder.made:
        data = settle(data, builder.typed_keys, builder.clean)
    return data, [str(p) for p in problems.items]


def _through_events(text: str) -> tuple[Any, list[str]] | None:
    streamed = _events.build_from_events("job.yaml", text, VARIABLES)
    if streamed is None:
        return None
    data, builder = streamed
    if builder is None:
        return "no document", []
    if builder.made:
        data = settle(data, builder.typed_keys, builder.clean)
    return data, [str(p) for p in builder.problems.items]


def _agree(text: str) -> bool:
    """Whether the event reader took ``text``; fails the test if it read it differently."""
    events = _through_events(text)
    if events is None:
        return False
    composed = _through_compose(text)
    assert composed is not None, f"the event reader read what compose refuses:\n{text}"
    assert repr(events[0]) == repr(composed[0]), text
    assert events[1] == composed[1], text
    return True


def _corpus() -> list[str]:
    texts = []
    for path in sorted(CORPUS.glob("*.yaml")):
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            continue
        if "\0" not in text:
            texts.append(text.replace("\r\n", "\n").replace("\r", "\n"))
    return texts


def test_the_event_reader_reads_every_corpus_file_as_compose_does() -> None:
    taken = sum(_agree(text) for text in _corpus())
    assert taken >= 50  # most of the corpus has no anchors: the event reader reads it


def test_the_event_reader_reads_edited_job_files_as_compose_does() -> None:
    rng = random.Random(21)
    texts = [t for t in _corpus() if "&" not in t and "*" not in t]
    taken = 0
    for _ in range(600):
        lines = rng.choice(texts).split("\n")
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(lines))
            choice = rng.random()
            if choice < 0.3 and len(lines) > 1:
                del lines[at]
            elif choice < 0.6:
                lines.insert(at, rng.choice(lines))
            else:
                cut = rng.randint(0, len(lines[at]))
                lines[at] = lines[at][:cut] + rng.choice(PIECES) + lines[at][cut:]
        taken += _agree("\n".join(lines))
    assert taken >= 200


@pytest.mark.parametrize("text", ["a: &x 1\nb: *x\n", "a: 1\n---\nb: 2\n", "a: *nowhere\n"])
def test_anchors_aliases_and_second_documents_are_left_to_compose(text: str) -> None:
    assert _events.build_from_events("job.yaml", text, VARIABLES) is None


def test_a_type_tag_with_no_value_is_a_problem_not_a_traceback(tmp_path: Path) -> None:
    job = tmp_path / "job.yaml"
    job.write_text("tasks:\n  a:\n    task: A\n    max_attempts: !!int\n")
    with pytest.raises(JobFileError) as raised:
        read_job(job, app_root=tmp_path)
    assert str(raised.value) == (
        f"{job}:4:19: tasks.a.max_attempts: cannot read this value: nothing to read as !!int"
    )
