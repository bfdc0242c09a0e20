"""A real SMTP server for the tests (aiosmtpd on 127.0.0.1) and the mailer and sensor tick that talk to it."""

import email
from contextlib import contextmanager
from email.policy import default as default_policy

from aiosmtpd.controller import Controller
from dagster import build_sensor_context

from ecom_assets.platform.alerts import run_failure_email_sensor
from resources import SmtpEmailResource


class Inbox:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.messages.append(email.message_from_bytes(envelope.content, policy=default_policy))
        return "250 OK"


@contextmanager
def smtp_server(port: int):
    """A real SMTP server on 127.0.0.1:port for the block; yields its inbox."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


def mailer(port: int) -> SmtpEmailResource:
    return SmtpEmailResource(
        host="127.0.0.1",
        port=port,
        sender="alerts@example.test",
        recipients="steward@example.test, ops@example.test",
        ui_base_url="http://127.0.0.1:3000",
        timeout_seconds=2,
    )


def tick(instance, port, cursor, sensor=run_failure_email_sensor):
    context = build_sensor_context(instance=instance, cursor=cursor, resources={"email": mailer(port)})
    return sensor(context).cursor
