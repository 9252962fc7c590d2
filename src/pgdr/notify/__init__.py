"""Notifications: one small interface, five channels.

An :class:`~pgdr.notify.event.Event` says what happened (a drill ended; later the daemon's
alerts); a :class:`~pgdr.notify.base.Notifier` delivers it somewhere: ``webhook`` (JSON
POST), ``slack`` (incoming webhook), ``pagerduty`` (Events API v2: trigger on failure,
resolve on the next success, stable dedup key), ``email`` (SMTP) and ``sns`` (AWS SNS via
boto3). Channels are configured as ``[notifications.NAME]`` with secrets by reference only.
This package knows nothing of PostgreSQL or the repository.
"""
