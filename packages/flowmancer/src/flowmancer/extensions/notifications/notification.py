"""``flowmancer.extensions.notifications.notification``: 0.12's ``Notification`` base."""

from ._legacy import Notification

__all__ = ["Notification"]
