"""`ecom-sample`: sample landing data for every area, deterministic by seed and day.

`generate` writes sales files (with `--feeds`, the operational feeds derived from them, and with
`--faults`, planted faults); `import-days` copies a folder of daily files into the landing layout;
`clickstream` writes web-shop behaviour events; `api` sends products, customers, orders, payments and
refunds to Shopify and Stripe through their APIs (the addresses from the settings, the secrets from
`ECOM_STRIPE_API_KEY` and `ECOM_SHOPIFY_CLIENT_SECRET`).
"""

import argparse
import shutil
from datetime import date
from pathlib import Path

from dagster import EnvVar

from ecom_assets.api_sources.sample_data import PLANTED, ShopifyShop, StripeShop, send_sample
from ecom_assets.clickstream.sample_data import CLICKSTREAM_FOLDER, write_clickstream
from ecom_assets.feeds.contract import ARCHIVE_PREFIX, FEED_DOMAINS, RAW_PREFIX, feed_file_path, trigger_path
from ecom_assets.feeds.sample_data import write_feeds_for_sales
from ecom_assets.platform.dates import DateRange
from ecom_assets.sales.sample_data import generate, import_days, plant_faults
from resources.landing import QUARANTINE_PREFIX, day_folder
from resources.settings import SHOPIFY_SECRET_VARIABLE, STRIPE_KEY_VARIABLE, Settings


def clear_days(landing_root: Path, days: DateRange) -> None:
    """Delete the landing and quarantine folders of `days`, and their feed batches (waiting or archived), so a
    regenerated range holds only what the generator writes (a file planted, quarantined or archived by an earlier
    demo would otherwise stay)."""
    for day in days:
        for prefix in (None, QUARANTINE_PREFIX):
            folder = landing_root / (day_folder(day, prefix) if prefix else day_folder(day))
            shutil.rmtree(folder, ignore_errors=True)
        for folder in (RAW_PREFIX, ARCHIVE_PREFIX):
            (landing_root / folder / trigger_path(day)).unlink(missing_ok=True)
            for domain in FEED_DOMAINS:
                (landing_root / folder / feed_file_path(domain, day)).unlink(missing_ok=True)


def send_through_apis(orders: int, seed: int) -> None:
    """Send a sample to the Shopify and Stripe the settings name, and say what it planted."""
    settings = Settings.from_environment().apis
    if not settings.shopify_shop_url:
        raise SystemExit(
            "ecom-sample api: set ECOM_SHOPIFY_SHOP_URL (and ECOM_SHOPIFY_CLIENT_ID, ECOM_STRIPE_API_BASE)"
        )
    stripe_key, shopify_secret = (EnvVar(name).get_value() for name in (STRIPE_KEY_VARIABLE, SHOPIFY_SECRET_VARIABLE))
    if not stripe_key or not shopify_secret:
        raise SystemExit(f"ecom-sample api: set {STRIPE_KEY_VARIABLE} and {SHOPIFY_SECRET_VARIABLE}")
    stripe_shop = StripeShop(settings.stripe_api_base, stripe_key)
    shop = ShopifyShop(
        settings.shopify_shop_url, settings.shopify_client_id, shopify_secret, settings.shopify_api_version
    )
    sent = send_sample(stripe_shop, shop, orders, seed)
    print(
        f"sent {sent.products} product(s), {sent.customers} customer(s) and {len(sent.orders)} order(s) to Shopify, "
        f"their payments to Stripe"
    )
    for planted, order in zip(PLANTED.values(), sent.orders, strict=False):
        print(f"  planted: order {order} {planted}")
    for charge in sent.orphan_charges:
        print(f"  planted: charge {charge} for no order")


def main(argv: list[str] | None = None) -> None:
    """Command line: `generate` sample days, `import-days` from a folder of daily files, or `clickstream` events."""
    parser = argparse.ArgumentParser(
        prog="ecom-sample", description="Sample landing data: sales files, operational feeds and clickstream events."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    gen = commands.add_parser("generate", help="generate realistic landing files for a date range")
    gen.add_argument("--start", type=date.fromisoformat, required=True)
    gen.add_argument("--end", type=date.fromisoformat, required=True)
    gen.add_argument("--seed", type=int, default=42)
    gen.add_argument("--scale", type=int, default=1, help="multiply each day's invoices and the customers by this")
    gen.add_argument(
        "--faults",
        action="store_true",
        help="plant realistic faults: a file in a renamed header, a missing trading day, a burst of bad lines",
    )
    gen.add_argument("--replace", action="store_true", help="first delete the range's landing and quarantine folders")
    imp = commands.add_parser("import-days", help="copy a folder of YYYY-MM-DD.csv files into the landing layout")
    imp.add_argument("source", type=Path)
    for sub in (gen, imp):
        sub.add_argument(
            "--feeds",
            action="store_true",
            help="also write the operational feeds (customers, products, inventory, shipping) and their triggers,"
            " derived from the sales",
        )
        sub.add_argument(
            "--landing-root",
            type=Path,
            default=Path("data"),
            help="landing root; files go to <root>/raw/ecommerce_sales/YYYY/MM/DD/ (default: data)",
        )
    clicks = commands.add_parser("clickstream", help="generate web-shop behaviour events, landed per hour")
    clicks.add_argument("--start", type=date.fromisoformat, required=True)
    clicks.add_argument("--end", type=date.fromisoformat, required=True)
    clicks.add_argument("--seed", type=int, default=42)
    clicks.add_argument("--sessions-per-day", type=int, default=2_000)
    clicks.add_argument(
        "--faults", action="store_true", help="end the first file with a truncated line and an unknown event type"
    )
    clicks.add_argument(
        "--landing-root",
        type=Path,
        default=Path("data"),
        help="landing root; files go to <root>/raw/clickstream/YYYY/MM/DD/HH/ (default: data)",
    )
    api = commands.add_parser("api", help="send products, customers, orders and payments to Shopify and Stripe")
    api.add_argument("--orders", type=int, default=20)
    api.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    if args.command == "api":
        send_through_apis(args.orders, args.seed)
        return
    if args.command == "clickstream":
        days = DateRange(args.start, args.end)
        files = write_clickstream(args.landing_root, days, args.seed, args.sessions_per_day, args.faults)
        print(f"wrote {len(files)} event file(s) under {args.landing_root / CLICKSTREAM_FOLDER}")
        return
    planted = []
    if args.command == "generate":
        if args.replace:
            clear_days(args.landing_root, DateRange(args.start, args.end))
        files = generate(args.landing_root, DateRange(args.start, args.end), args.seed, args.scale)
        if args.faults:
            planted = plant_faults(args.landing_root, files, args.seed)
    else:
        files = import_days(args.source, args.landing_root)
    print(f"wrote {len(files)} landing file(s) under {args.landing_root / 'raw/ecommerce_sales'}")
    if args.feeds:
        days = DateRange(args.start, args.end) if args.command == "generate" else None
        triggers = write_feeds_for_sales(args.landing_root, args.seed if args.command == "generate" else 42, days)
        print(f"wrote {len(triggers)} feed batch(es) with their triggers under {args.landing_root / 'raw'}")
    for fault in planted:
        print(f"  planted fault: {fault}")


if __name__ == "__main__":
    main()
