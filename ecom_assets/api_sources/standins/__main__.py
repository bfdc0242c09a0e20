"""Both stand-ins for the demo: `python -m ecom_assets.api_sources.standins ENV_FILE` starts the Stripe stand-in and an
empty Shopify shop on free loopback ports, writes the settings and fresh secrets that point the project at them
to ENV_FILE (shell `export` lines, readable by the owner only), and serves until stopped."""

import os
import secrets
import signal
import sys
import threading
from contextlib import ExitStack
from pathlib import Path

from ecom_assets.api_sources.standins import shopify_server, stripe_server
from resources.settings import SHOPIFY_SECRET_VARIABLE, STRIPE_KEY_VARIABLE

CLIENT_ID = "demo-client"


def main() -> None:
    """Start both stand-ins, write ENV_FILE, serve until SIGTERM or SIGINT."""
    env_file = Path(sys.argv[1])
    client_secret = secrets.token_hex(16)
    stopped = threading.Event()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signal_number, lambda *_: stopped.set())
    with ExitStack() as servers:
        stripe_url = servers.enter_context(stripe_server.running_standin())
        empty_shop = ("--orders", "0", "--customers", "0", "--products", "0")
        shop_url = servers.enter_context(
            shopify_server.running_standin(*empty_shop, "--client-id", CLIENT_ID, "--client-secret", client_secret)
        )
        settings = {
            "ECOM_STRIPE_API_BASE": stripe_url,
            "ECOM_SHOPIFY_SHOP_URL": shop_url,
            "ECOM_SHOPIFY_CLIENT_ID": CLIENT_ID,
            STRIPE_KEY_VARIABLE: f"sk_test_{secrets.token_hex(12)}",
            SHOPIFY_SECRET_VARIABLE: client_secret,
        }
        descriptor = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.writelines(f"export {name}={value}\n" for name, value in settings.items())
        stopped.wait()


if __name__ == "__main__":
    main()
