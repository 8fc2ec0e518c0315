"""Notifications: a message when a job starts, succeeds, fails or is aborted.

``SlackNotification``, ``WebhookNotification`` and ``EmailNotification`` are sent with the
standard library (``urllib``, ``smtplib``); 0.12's ``SlackWebhookNotification`` and
``PushoverNotification`` keep their names and settings. A notification that cannot be sent is
reported on standard error and never fails the job. ``Notification`` is 0.12's base class for
your own (``async send_notification(title, msg)``).
"""

from ._base import Notifier
from ._legacy import Notification
from ._senders import (
    EmailNotification,
    PushoverNotification,
    SlackNotification,
    SlackWebhookNotification,
    WebhookNotification,
)

__all__ = [
    "EmailNotification",
    "Notification",
    "Notifier",
    "PushoverNotification",
    "SlackNotification",
    "SlackWebhookNotification",
    "WebhookNotification",
]
