"""Notifications: composing messages from events (:mod:`.compose`) and delivering them by
e-mail (:mod:`.email`) and webhooks (:mod:`.webhook`)."""

from leadrelay.notify.compose import NotificationContext, notify, notify_all

__all__ = ["NotificationContext", "notify", "notify_all"]
