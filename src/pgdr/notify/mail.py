"""E-mail over SMTP with the standard library: STARTTLS or implicit TLS, optional login."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from pgdr.errors import NotifyError
from pgdr.notify.channel import Channel
from pgdr.notify.event import Event
from pgdr.notify.http import scrub
from pgdr.notify.settings import EmailSettings

PREFIX = {"ok": "[pgdr] OK", "warning": "[pgdr] WARNING", "failure": "[pgdr] FAILURE"}


def email_message(event: Event, sender: str, to: list[str]) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = f"{PREFIX[event.status]}: {event.title}"[:200]
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["X-Pgdr-Dedup-Key"] = event.dedup_key
    lines = [event.text, ""]
    lines += [f"{k}: {v}" for k, v in event.details.items() if not isinstance(v, dict | list)]
    lines += [f"{k}: {v}" for k, v in event.links.items()]
    msg.set_content("\n".join(lines) + "\n")
    return msg


class EmailNotifier(Channel[EmailSettings]):
    def send(self, event: Event) -> None:
        s = self.settings
        msg = email_message(event, s.sender, s.to)
        password = ""
        try:
            smtp: smtplib.SMTP
            if s.ssl:
                ctx = ssl.create_default_context()
                smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_s, context=ctx)
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout_s)
            with smtp:
                if s.starttls and not s.ssl:
                    smtp.starttls(context=ssl.create_default_context())
                if s.username:
                    password = s.password.resolve() if s.password else ""
                    smtp.login(s.username, password)
                smtp.send_message(msg)
        except (smtplib.SMTPException, OSError) as e:
            reason = scrub(str(e), [password]).replace("\n", " ")  # never the password
            raise NotifyError(
                f"notification channel {self.name!r} failed: SMTP {s.host}:{s.port}: {reason}"
            ) from None
