"""``flowmancer.extensions.notifications.email``: 0.12's path to the e-mail notification."""

from ._senders import EmailNotification

__all__ = ["EmailNotification"]
