"""``flowmancer.extensions.notifications.slack``: 0.12's path to the Slack notification."""

from ._senders import SlackNotification, SlackWebhookNotification

__all__ = ["SlackNotification", "SlackWebhookNotification"]
