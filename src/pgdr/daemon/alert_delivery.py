"""Alert states that survive restarts, and delivery of firing/resolved notifications.

``<state dir>/alerts.json`` holds every alert's state and the transitions not yet delivered
to every channel. A restart therefore neither re-announces an alert that was already firing
nor forgets to announce its resolution; a channel that was down gets the notification at a
later evaluation (and only the channels that missed it do).
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from pgdr.daemon.alert_rules import RULES, AlertState, Condition, Transition, step
from pgdr.localfs import atomic_write

log = logging.getLogger(__name__)
#: Deliver ``transition`` to ``channels`` (None: every channel); returns the channels that
#: failed.
Deliver = Callable[[Transition, list[str] | None], list[str]]
MAX_UNDELIVERED = 200


class AlertBook:
    def __init__(self, path: Path | None, deliver: Deliver | None) -> None:
        self.path = path
        self.deliver_fn = deliver
        self.states: dict[str, AlertState] = {}
        self.undelivered: list[tuple[Transition, list[str] | None]] = []
        self.sent: list[dict[str, Any]] = []  # recent deliveries, for the status page
        self._lock = threading.Lock()
        self._load()

    def update(self, conds: list[Condition], now: datetime, for_s: float) -> list[Transition]:
        with self._lock:
            self.states, transitions = step(self.states, conds, now, for_s)
            self.undelivered.extend((t, None) for t in transitions)
            del self.undelivered[:-MAX_UNDELIVERED]
            self._save()
        for t in transitions:  # a problem is a warning; its resolution is routine
            level = logging.WARNING if t.to == "firing" else logging.INFO
            log.log(level, "alert %s %s: %s", t.name, t.to, t.summary)
        self.deliver()
        return transitions

    def deliver(self) -> None:
        if self.deliver_fn is None:
            with self._lock:
                self.undelivered.clear()
                self._save()
            return
        with self._lock:
            queue, self.undelivered = self.undelivered, []
        left: list[tuple[Transition, list[str] | None]] = []
        for t, channels in queue:
            failed = self.deliver_fn(t, channels)
            if failed:
                left.append((t, failed))
            self.sent.append({"alert": t.name, "to": t.to, "at": t.at, "failed": failed})
        with self._lock:
            self.undelivered = left + self.undelivered
            del self.sent[:-50]
            self._save()

    def snapshot(self) -> dict[str, AlertState]:
        with self._lock:
            return {k: v for k, v in self.states.items() if k in RULES}

    def _load(self) -> None:
        if self.path is None or not self.path.exists():
            return
        try:
            doc = json.loads(self.path.read_text())
            self.states = {
                k: AlertState(**v) for k, v in doc.get("states", {}).items() if k in RULES
            }
            self.undelivered = [
                (Transition(**u["transition"]), u["channels"]) for u in doc.get("undelivered", [])
            ]
        except (OSError, ValueError, TypeError, KeyError) as e:
            log.warning("alert state %s unreadable (%s): starting afresh", self.path, e)

    def _save(self) -> None:
        if self.path is None:
            return
        doc = {
            "states": {k: asdict(v) for k, v in self.states.items()},
            "undelivered": [{"transition": asdict(t), "channels": c} for t, c in self.undelivered],
        }
        with contextlib.suppress(OSError):
            atomic_write(self.path, json.dumps(doc, indent=1))
