"""The built-in notifications: Slack, any webhook, e-mail, Pushover."""

from __future__ import annotations

import json
import smtplib
import ssl
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from typing import Any

from ._base import Notifier

__all__ = [
    "EmailNotification",
    "PushoverNotification",
    "SlackNotification",
    "SlackWebhookNotification",
    "WebhookNotification",
]


def _post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> None:
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        response.read()


class SlackNotification(Notifier):
    """Posts to a Slack incoming webhook: the title as text, the details as an attachment.

    Args:
        webhook_url: the webhook's URL (keep it out of job files: ``$ENV{SLACK_WEBHOOK}``).
    """

    def __init__(self, webhook_url: str, **when: Any) -> None:
        super().__init__(**when)
        self.webhook_url = webhook_url

    def send(self, event: str, title: str, text: str, details: dict[str, Any]) -> None:
        """POST ``{"text": title, "attachments": [{"text": text}]}``."""
        body = json.dumps({"text": title, "attachments": [{"text": text}]}).encode()
        _post(self.webhook_url, body, {"Content-Type": "application/json"}, self.timeout)


class SlackWebhookNotification(SlackNotification):
    """Flowmancer 0.12's name and setting (``webhook``) for ``SlackNotification``."""

    def __init__(self, webhook: str, **when: Any) -> None:
        super().__init__(webhook, **when)


class WebhookNotification(Notifier):
    """Posts a JSON object to any URL: ``event``, ``title``, ``text``, ``job``, ``run_id``, and
    at the end ``states``, ``exit_code`` and ``seconds``.

    Args:
        url: where to POST.
        headers: extra headers (an ``Authorization``, say).
    """

    def __init__(self, url: str, headers: Mapping[str, str] | None = None, **when: Any) -> None:
        super().__init__(**when)
        self.url = url
        self.headers = dict(headers or {})

    def send(self, event: str, title: str, text: str, details: dict[str, Any]) -> None:
        """POST the JSON object."""
        body = json.dumps({"title": title, "text": text, **details}).encode()
        headers = {"Content-Type": "application/json", **self.headers}
        _post(self.url, body, headers, self.timeout)


class EmailNotification(Notifier):
    """Sends an e-mail through an SMTP server.

    Args:
        host, port: the SMTP server (0.12's ``smtp_host``/``smtp_port`` are accepted too).
        tls: ``starttls`` (upgrade the connection), ``ssl`` (TLS from the start) or ``none``.
        user, password: to log in, when the server wants it (``$ENV{SMTP_PASSWORD}``).
        sender: the From address (or 0.12's ``sender_user`` + ``sender_host``).
        to: one address or a list (or 0.12's ``recipient``).
    """

    def __init__(
        self,
        host: str | None = None,
        port: int | None = None,
        tls: str = "none",
        user: str | None = None,
        password: str | None = None,
        sender: str | None = None,
        to: str | Sequence[str] | None = None,
        *,
        smtp_host: str | None = None,
        smtp_port: int | None = None,
        sender_user: str | None = None,
        sender_host: str | None = None,
        recipient: str | None = None,
        **when: Any,
    ) -> None:
        super().__init__(**when)
        server = host or smtp_host
        if not server:
            raise ValueError("EmailNotification needs host (the SMTP server)")
        self.host: str = server
        if tls not in ("starttls", "ssl", "none"):
            raise ValueError(f"tls must be starttls, ssl or none, got {tls!r}")
        self.tls = tls
        self.port = port or smtp_port or (465 if tls == "ssl" else 587 if tls == "starttls" else 25)
        self.user = user
        self.password = password
        if sender is None and sender_user and sender_host:
            sender = f"{sender_user}@{sender_host}"
        if not sender:
            raise ValueError("EmailNotification needs sender (the From address)")
        self.sender = sender
        recipients = to if to is not None else recipient
        if not recipients:
            raise ValueError("EmailNotification needs to (one address or a list)")
        self.to = [recipients] if isinstance(recipients, str) else list(recipients)

    def send(self, event: str, title: str, text: str, details: dict[str, Any]) -> None:
        """Connect, log in if asked, send one message."""
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = ", ".join(self.to)
        message["Subject"] = title
        message.set_content(text)
        context = ssl.create_default_context()
        if self.tls == "ssl":
            server: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=context
            )
        else:
            server = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with server:
            if self.tls == "starttls":
                server.starttls(context=context)
            if self.user:
                server.login(self.user, self.password or "")
            server.send_message(message)


class PushoverNotification(Notifier):
    """Flowmancer 0.12's Pushover notification (``app_token``, ``user_key``)."""

    def __init__(
        self,
        app_token: str,
        user_key: str,
        api_url: str = "https://api.pushover.net/1/messages.json",
        **when: Any,
    ) -> None:
        super().__init__(**when)
        self.app_token = app_token
        self.user_key = user_key
        self.api_url = api_url

    def send(self, event: str, title: str, text: str, details: dict[str, Any]) -> None:
        """POST a form to Pushover's API."""
        form = {"token": self.app_token, "user": self.user_key, "title": title, "message": text}
        body = urllib.parse.urlencode(form).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        _post(self.api_url, body, headers, self.timeout)
