"""Sending alert email over SMTP, configured by the settings (`EmailSettings`)."""

import ipaddress
import smtplib
import ssl
from email.message import EmailMessage
from typing import Literal

from dagster import ConfigurableResource, EnvVar

from resources.settings import PASSWORD_VARIABLE, EmailSettings


class SmtpNotConfigured(smtplib.SMTPException):
    """No mail server is configured: alerts wait until one is."""


class SmtpInsecureLogin(smtplib.SMTPException):
    """A login configured over a connection that is neither STARTTLS nor TLS to a host that is not this machine:
    the password would cross the network in clear, so nothing is sent."""


def is_loopback(host: str) -> bool:
    """Whether the host is this machine (`localhost`, or an address in 127.0.0.0/8 or ::1)."""
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class SmtpEmailResource(ConfigurableResource):
    """An SMTP server to send alerts through (plain, STARTTLS or implicit TLS), and who gets them."""

    host: str
    port: int = 25
    security: Literal["none", "starttls", "ssl"] = "none"
    user: str | None = None
    password: str | None = None
    sender: str
    recipients: str
    """Comma-separated addresses."""
    ui_base_url: str = "http://127.0.0.1:3000"
    timeout_seconds: float = 10.0

    def recipient_list(self) -> list[str]:
        """The recipients, split and trimmed."""
        return [address.strip() for address in self.recipients.split(",") if address.strip()]

    def send(self, subject: str, text: str, html: str) -> None:
        """Send one message with a text and an HTML part; raises `OSError`/`smtplib.SMTPException` on failure."""
        if not self.host or not self.recipient_list():
            raise SmtpNotConfigured("set ECOM_SMTP_HOST and ECOM_ALERT_RECIPIENTS to send alerts")
        if self.user and self.security == "none" and not is_loopback(self.host):
            raise SmtpInsecureLogin(
                f"refusing to log in to {self.host} as {self.user} without encryption: set ECOM_SMTP_SECURITY to"
                " starttls or ssl (a login without it is allowed only to this machine)"
            )
        message = EmailMessage()
        message["Subject"], message["From"], message["To"] = subject, self.sender, ", ".join(self.recipient_list())
        message.set_content(text)
        message.add_alternative(html, subtype="html")
        if self.security == "ssl":
            client = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout_seconds, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout_seconds)
        with client:
            if self.security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if self.user:
                client.login(self.user, self.password or "")
            client.send_message(message)


def email_for(settings: EmailSettings) -> SmtpEmailResource:
    """The alert mailer of the settings (`ECOM_SMTP_*`, `ECOM_ALERT_*`, `ECOM_UI_BASE_URL`).

    Without a host it is unconfigured: sending raises `SmtpNotConfigured` and alerts wait. The
    password is passed as a Dagster `EnvVar`, so it never appears in config or logs.
    """
    return SmtpEmailResource(
        host=settings.host,
        port=settings.port,
        security=settings.security,
        user=settings.user,
        password=EnvVar(PASSWORD_VARIABLE) if settings.password_set else None,
        sender=settings.sender,
        recipients=settings.recipients,
        ui_base_url=settings.ui_base_url,
    )
