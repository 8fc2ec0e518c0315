"""``flowmancer.extensions.notifications.pushover``: 0.12's path to the Pushover notification."""

from ._senders import PushoverNotification

__all__ = ["PushoverNotification"]
