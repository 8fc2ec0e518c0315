"""Notifications against real servers on 127.0.0.1: an HTTP server for Slack and webhooks, an
SMTP server (aiosmtpd) for e-mail. What arrives on success, failure and abort; and a server that
cannot be reached never fails the job."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from driver_support import MAIN, TASKS

SLOW = """
import time
from flowmancer import Task, task


@task
class Slow(Task):
    def run(self):
        time.sleep(30)
"""


class Posts:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.lock = threading.Lock()


@pytest.fixture
def http() -> Iterator[tuple[str, Posts]]:
    posts = Posts()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with posts.lock:
                posts.items.append(
                    {"path": self.path, "headers": dict(self.headers), "body": json.loads(body)}
                )
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", posts
    server.shutdown()
    server.server_close()


@pytest.fixture
def smtp() -> Iterator[tuple[int, list[Any]]]:
    aiosmtpd = pytest.importorskip("aiosmtpd.controller")
    received: list[Any] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            received.append(envelope)
            return "250 OK"

    port = free_port()
    controller = aiosmtpd.Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    yield port, received
    controller.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def project(tmp_path: Path, extensions: str, tasks: str) -> Path:
    root = tmp_path / "project"
    (root / "tasks").mkdir(parents=True)
    (root / "tasks" / "__init__.py").write_text("")
    (root / "tasks" / "steps.py").write_text(TASKS)
    (root / "tasks" / "slow.py").write_text(SLOW)
    (root / "main.py").write_text(MAIN)
    job = f"config: {{name: notify}}\ntasks:\n{tasks}\nextensions:\n{extensions}"
    (root / "job.yaml").write_text(job)
    return root


OK_TASKS = "  a: {task: Step, parameters: {marker: ./runs.txt}}\n"
FAILING_TASKS = OK_TASKS + (
    "  b: {task: Step, dependencies: [a], parameters: {marker: ./runs.txt, fail_if: ./main.py}}\n"
)


def drive(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "main.py", "-j", "job.yaml"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_slack_and_webhook_hear_of_the_start_and_the_success(
    tmp_path: Path, http: tuple[str, Posts]
) -> None:
    url, posts = http
    extensions = textwrap.dedent(f"""\
      slack: {{extension: SlackNotification, parameters: {{webhook_url: "{url}/slack"}}}}
      hook:
        extension: WebhookNotification
        parameters: {{url: "{url}/hook", headers: {{Authorization: Bearer t0k}}}}
    """)
    done = drive(project(tmp_path, textwrap.indent(extensions, "  "), OK_TASKS))
    assert done.returncode == 0, done.stderr
    slack = [p["body"] for p in posts.items if p["path"] == "/slack"]
    assert [b["text"] for b in slack] == [
        "Flowmancer job notify: STARTING",
        "Flowmancer job notify: SUCCESS",
    ]
    assert "with 1 tasks" in slack[0]["attachments"][0]["text"]
    hooks = [p for p in posts.items if p["path"] == "/hook"]
    assert [h["body"]["event"] for h in hooks] == ["create", "success"]
    assert hooks[0]["headers"]["Authorization"] == "Bearer t0k"
    assert hooks[1]["body"]["states"] == {"a": "COMPLETED"} and hooks[1]["body"]["exit_code"] == 0


def test_a_failure_names_the_tasks_and_why(tmp_path: Path, http: tuple[str, Posts]) -> None:
    url, posts = http
    extensions = f'  hook: {{extension: WebhookNotification, parameters: {{url: "{url}/h"}}}}\n'
    done = drive(project(tmp_path, extensions, FAILING_TASKS))
    assert done.returncode == 1
    end = posts.items[-1]["body"]
    assert end["event"] == "failure" and end["title"] == "Flowmancer job notify: FAILURE"
    assert "- b: FAILED (RuntimeError: failing as asked)" in end["text"]


def test_an_abort_is_delivered(tmp_path: Path, http: tuple[str, Posts]) -> None:
    url, posts = http
    extensions = f'  hook: {{extension: WebhookNotification, parameters: {{url: "{url}/h"}}}}\n'
    root = project(tmp_path, extensions, "  s: {task: Slow}\n")
    driver = subprocess.Popen(
        [sys.executable, "main.py", "-j", "job.yaml"],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not posts.items:  # the start was announced: the task is on its way
        assert time.monotonic() < deadline
        time.sleep(0.02)
    time.sleep(0.3)
    driver.send_signal(signal.SIGTERM)
    _, err = driver.communicate(timeout=60)
    assert driver.returncode == 1, err
    assert [p["body"]["event"] for p in posts.items] == ["create", "abort"]


def test_email_arrives_through_a_real_smtp_server(
    tmp_path: Path, smtp: tuple[int, list[Any]]
) -> None:
    port, received = smtp
    extensions = (
        "  mail:\n    extension: EmailNotification\n    parameters:\n"
        f"      host: 127.0.0.1\n      port: {port}\n      sender: flow@example.org\n"
        "      to: [ops@example.org, dev@example.org]\n      notify_on_create: false\n"
    )
    done = drive(project(tmp_path, extensions, FAILING_TASKS))
    assert done.returncode == 1, done.stderr
    assert len(received) == 1
    envelope = received[0]
    assert envelope.mail_from == "flow@example.org"
    assert envelope.rcpt_tos == ["ops@example.org", "dev@example.org"]
    text = envelope.content.decode()
    assert "Subject: Flowmancer job notify: FAILURE" in text and "- b: FAILED" in text


def test_an_unreachable_server_is_reported_and_never_fails_the_job(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    extensions = (
        f'  hook: {{extension: WebhookNotification, parameters: {{url: "http://127.0.0.1:{port}/x",'
        " timeout: 2}}\n"
        "  mail: {extension: EmailNotification, parameters: "
        f"{{host: 127.0.0.1, port: {port}, sender: a@b.c, to: d@e.f, timeout: 2}}}}\n"
    )
    done = drive(project(tmp_path, extensions, OK_TASKS))
    assert done.returncode == 0, done.stderr
    assert "WebhookNotification could not send the 'create' notification" in done.stderr
    assert "EmailNotification could not send the 'success' notification" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_misspelt_setting_is_named(tmp_path: Path) -> None:
    extensions = '  hook: {extension: WebhookNotification, parameters: {ur: "http://x"}}\n'
    done = drive(project(tmp_path, extensions, OK_TASKS))
    assert done.returncode == 99
    assert "extensions.hook.parameters.ur: WebhookNotification has no parameter 'ur'" in (
        done.stderr
    )


def test_a_server_that_never_answers_does_not_hold_the_tasks_up(tmp_path: Path) -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts connections, never answers
    port = silent.getsockname()[1]
    try:
        extensions = (
            f'  hook: {{extension: WebhookNotification, parameters: {{url: "http://127.0.0.1:'
            f'{port}/x", timeout: 3, notify_on_success: false}}}}\n'
        )
        extensions += "  progress: {extension: RichProgressBar}\n"
        root = project(tmp_path, extensions, OK_TASKS)
        done = drive(root)
    finally:
        silent.close()
    assert done.returncode == 0, done.stderr
    err = done.stderr
    # The task ran (and the progress display said so) while the notification still waited (3 s).
    assert err.index("a: RUNNING -> COMPLETED") < err.index("could not send the 'create'")


def test_a_setting_of_the_wrong_type_is_named_before_anything_runs(tmp_path: Path) -> None:
    extensions = (
        '  hook: {extension: WebhookNotification, parameters: {url: "http://x", timeout: abc}}\n'
        "  bar: {extension: RichProgressBar, parameters: {force_terminal: maybe}}\n"
    )
    done = drive(project(tmp_path, extensions, OK_TASKS))
    assert done.returncode == 99
    assert "extensions.hook.parameters.timeout: expected float" in done.stderr
    assert "extensions.bar.parameters.force_terminal: expected" in done.stderr
    assert not (tmp_path / "project" / "runs.txt").exists()
