"""Writes operational feed batches by the contract: each domain's CSV file, then the trigger naming them."""

import csv
import io
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from ecom_assets.feeds.contract import FEED_COLUMNS, RAW_PREFIX, Trigger, feed_file_path, trigger_for, trigger_path
from ecom_assets.platform.dates import DateRange
from ecom_assets.sales.transforms.silver import FEE_STOCK_CODES
from resources.landing import landing_day


def feed_csv(domain: str, records: Sequence[Mapping[str, object]]) -> bytes:
    """A domain's file content: the contract's header, then each record's values (missing ones empty)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(FEED_COLUMNS[domain])
    for record in records:
        writer.writerow(["" if record.get(name) is None else record[name] for name in FEED_COLUMNS[domain]])
    return buffer.getvalue().encode("utf-8")


def write_batch(
    landing_root: Path,
    day: date,
    records_by_domain: Mapping[str, Sequence[Mapping[str, object]]],
    batch_id: str | None = None,
    created_at: datetime | None = None,
) -> Trigger:
    """Write a day's batch under `<landing_root>/raw/`: one file per domain given, then the trigger (written last,
    as the contract asks). Returns the trigger."""
    files = []
    for domain, records in records_by_domain.items():
        relative = feed_file_path(domain, day)
        content = feed_csv(domain, records)
        path = landing_root / RAW_PREFIX / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        files.append((domain, relative, content))
    trigger = trigger_for(
        batch_id or f"feeds-{day:%Y%m%d}", day, files, created_at or datetime.combine(day, datetime.min.time(), UTC)
    )
    target = landing_root / RAW_PREFIX / trigger_path(day)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(trigger.to_json(), encoding="utf-8")
    return trigger


_TIERS = ((10_000, "platinum"), (2_000, "gold"), (500, "silver"), (float("-inf"), "bronze"))
"""Customer tier by spend to date (pounds): the first threshold reached wins; returns can make the spend negative."""
_METHODS = (("standard", 70, 4, 3.95), ("express", 20, 2, 7.95), ("next_day", 10, 1, 12.95))
"""Shipping method, share (%), promised days and cost."""
_CATEGORIES = (
    ("Home", "Lighting", ("LIGHT", "LANTERN", "CANDLE", "LAMP")),
    ("Kitchen", "Tableware", ("MUG", "CAKE", "TEA", "NAPKIN", "BOTTLE", "LUNCH", "PLATE", "CUP")),
    ("Gifts", "Cards and wrap", ("CARD", "WRAP", "BAG", "PARTY", "BUNTING", "CHAIN")),
    ("Decor", "Wall and frames", ("FRAME", "WALL", "SIGN", "CLOCK", "DOORMAT", "HANGER")),
    ("Seasonal", "Christmas", ("CHRISTMAS", "XMAS", "HEART")),
)
_FIRST_NAMES = ("Ann", "Ben", "Cara", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "June", "Kai", "Lena")
_LAST_NAMES = ("Smith", "Jones", "Patel", "Brown", "Khan", "Wilson", "Evans", "Moreau", "Weber", "Garcia")
_SALES_FIELDS = {
    "invoice": ("invoiceno", "invoice"),
    "stock_code": ("stockcode",),
    "description": ("description",),
    "quantity": ("quantity",),
    "price": ("unitprice", "price"),
    "customer": ("customerid", "customer id"),
    "country": ("country",),
}


@dataclass
class _Shipment:
    order_id: str
    order_day: date
    method: str
    cost: float
    estimated: date
    delivered: date
    tracking: str
    weight: float


@dataclass
class FeedHistory:
    """What the feeds have told so far: the shop's customers, products, stock and open shipments.

    `day_feeds` turns one day's sales into that day's batch and moves the history on, so feeds
    derived day after day stay consistent with the sales (same customers, products, invoices).
    """

    seed: int = 42
    spend: dict[str, float] = field(default_factory=dict)
    tiers: dict[str, str] = field(default_factory=dict)
    countries: dict[str, str] = field(default_factory=dict)
    prices: dict[str, str] = field(default_factory=dict)
    discontinued: set[str] = field(default_factory=set)
    stock: dict[str, int] = field(default_factory=dict)
    in_transit: list[_Shipment] = field(default_factory=list)

    def day_feeds(self, day: date, sales: list[dict[str, str]]) -> dict[str, list[dict]]:
        """The day's batch: new or changed customers and products, end-of-day stock of what sold, shipments
        created for the day's invoices and deliveries completed today (of orders of earlier days)."""
        rng = random.Random(f"{self.seed}:feeds:{day.isoformat()}")
        return {
            "customers": self._customers(day, sales, rng),
            "products": self._products(day, sales, rng),
            "inventory": self._inventory(day, sales, rng),
            "shipping": self._shipping(day, sales, rng),
        }

    def _customers(self, day: date, sales: list[dict[str, str]], rng: random.Random) -> list[dict]:
        records = []
        for customer, lines in _group(sales, "customer").items():
            if not customer:
                continue
            spent = sum(_amount(line) for line in lines)
            self.spend[customer] = self.spend.get(customer, 0.0) + spent
            tier = next(name for threshold, name in _TIERS if self.spend[customer] >= threshold)
            country = lines[0]["country"]
            if self.tiers.get(customer) == tier and self.countries.get(customer) == country:
                continue
            new = customer not in self.tiers
            self.tiers[customer], self.countries[customer] = tier, country
            records.append(_customer_record(customer, day, tier, country, new, rng))
        return records

    def _products(self, day: date, sales: list[dict[str, str]], rng: random.Random) -> list[dict]:
        records = []
        for code, lines in _group(sales, "stock_code").items():
            if code in FEE_STOCK_CODES or not code:
                continue
            price = max((line["price"] for line in lines), key=lambda text: lines.count(text) if text else -1)
            retire = code not in self.discontinued and rng.random() < 0.002
            if self.prices.get(code) == price and not retire:
                continue
            if retire:
                self.discontinued.add(code)
            self.prices[code] = price
            records.append(_product_record(code, lines[0]["description"], price, code in self.discontinued, day, rng))
        return records

    def _inventory(self, day: date, sales: list[dict[str, str]], rng: random.Random) -> list[dict]:
        records = []
        for code, lines in sorted(_group(sales, "stock_code").items()):
            if code in FEE_STOCK_CODES or not code or code not in self.prices:
                continue
            sold = sum(max(_int(line["quantity"]), 0) for line in lines)
            level = self.stock.get(code, rng.randint(200, 2_000)) - sold
            if level < 50:
                level += rng.choice((500, 1_000, 2_000))  # restocked overnight
            self.stock[code] = level
            status = "low_stock" if level < 100 else "in_stock"
            records.append(
                {
                    "product_id": code,
                    "stock_quantity": level,
                    "stock_status": "discontinued" if code in self.discontinued else status,
                    "warehouse_location": "UK-1",
                    "last_updated": f"{day.isoformat()}T22:00:00Z",
                    "created_timestamp": f"{day.isoformat()}T23:00:00Z",
                }
            )
        return records

    def _shipping(self, day: date, sales: list[dict[str, str]], rng: random.Random) -> list[dict]:
        records = []
        delivered = [shipment for shipment in self.in_transit if shipment.delivered <= day]
        self.in_transit = [shipment for shipment in self.in_transit if shipment.delivered > day]
        for shipment in delivered:
            records.append(_shipping_record(shipment, day, actual=True, rng=rng))
        for invoice, lines in sorted(_group(sales, "invoice").items()):
            if not invoice or invoice.upper().startswith("C") or all(_int(line["quantity"]) <= 0 for line in lines):
                continue
            method, _, promised, cost = rng.choices(_METHODS, [share for _, share, _, _ in _METHODS])[0]
            late = rng.random() < 0.12
            shipment = _Shipment(
                order_id=invoice,
                order_day=day,
                method=method,
                cost=cost,
                estimated=day + timedelta(days=promised),
                delivered=day
                + timedelta(days=promised + (rng.randint(1, 3) if late else -rng.randint(0, promised - 1))),
                tracking=f"TRK{rng.randrange(10**9):09d}",
                weight=round(sum(max(_int(line["quantity"]), 0) for line in lines) * 0.12 + 0.2, 2),
            )
            self.in_transit.append(shipment)
            records.append(_shipping_record(shipment, day, actual=False, rng=rng))
        return records


def _group(sales: list[dict[str, str]], key: str) -> dict[str, list[dict[str, str]]]:
    grouped: dict[str, list[dict[str, str]]] = {}
    for line in sales:
        grouped.setdefault(line[key], []).append(line)
    return grouped


def _int(text: str) -> int:
    try:
        return int(float(text))
    except ValueError:
        return 0


def _amount(line: dict[str, str]) -> float:
    try:
        return float(line["quantity"]) * float(line["price"])
    except ValueError:
        return 0.0


def _day_first(day: date, rng: random.Random) -> str:
    """A date as exports write it: mostly ISO, sometimes day-first."""
    return day.strftime("%d/%m/%Y") if rng.random() < 0.2 else day.isoformat()


def _customer_record(customer: str, day: date, tier: str, country: str, new: bool, rng: random.Random) -> dict:
    number = int(customer) if customer.isdigit() else sum(map(ord, customer))
    first, last = _FIRST_NAMES[number % len(_FIRST_NAMES)], _LAST_NAMES[number // 7 % len(_LAST_NAMES)]
    phone = rng.choice(
        (f"+44 20 {number % 10_000:04d} {number % 7_919:04d}", f"0044-20-{number:06d}", f"020{number:07d}")
    )
    born = date(1950 + number % 50, 1 + number % 12, 1 + number % 28)
    return {
        "customer_id": customer,
        "first_name": first,
        "last_name": last,
        "email": f"{first}.{last}{number}@example.com".lower(),
        "phone": phone if rng.random() > 0.1 else "",
        "date_of_birth": _day_first(born, rng) if rng.random() > 0.3 else "",
        "registration_date": _day_first(day, rng) if new else "",
        "address": f"{number % 200 + 1} High Street",
        "city": "London" if country == "United Kingdom" else "",
        "state": "",
        "zip_code": "",
        "country": country,
        "customer_tier": tier.capitalize() if rng.random() < 0.3 else tier,
        "last_login": f"{day.isoformat()}T{rng.randint(6, 22):02d}:{rng.randint(0, 59):02d}:00Z",
        "created_timestamp": f"{day.isoformat()}T23:00:00Z",
    }


def _product_record(code: str, name: str, price: str, discontinued: bool, day: date, rng: random.Random) -> dict:
    upper = name.upper()
    category, subcategory = next(
        ((category, sub) for category, sub, words in _CATEGORIES if any(word in upper for word in words)),
        ("Other", ""),
    )
    return {
        "product_id": code,
        "product_name": name.title(),
        "category": category,
        "subcategory": subcategory,
        "brand": "" if rng.random() < 0.4 else "House",
        "price": price,
        "currency": "GBP",
        "stock_quantity": "",
        "weight_kg": f"{rng.uniform(0.05, 2.0):.2f}",
        "dimensions_cm": "",
        "color": "",
        "material": "",
        "description": name,
        "launch_date": "",
        "discontinued": rng.choice(("TRUE", "yes", "1")) if discontinued else rng.choice(("FALSE", "no", "0", "")),
        "created_timestamp": f"{day.isoformat()}T23:00:00Z",
    }


def _shipping_record(shipment: _Shipment, day: date, actual: bool, rng: random.Random) -> dict:
    return {
        "order_id": shipment.order_id,
        "shipping_method": shipment.method,
        "shipping_cost": f"{shipment.cost:.2f}",
        "currency": "GBP",
        "tracking_number": shipment.tracking,
        "package_weight": f"{shipment.weight}",
        "dimensions_cm": "",
        "estimated_delivery": _day_first(shipment.estimated, rng),
        "actual_delivery": shipment.delivered.isoformat() if actual else "",
        "created_timestamp": f"{day.isoformat()}T23:30:00Z",
    }


def read_sales_day(path: Path) -> list[dict[str, str]]:
    """A landed sales file's lines by field (`invoice`, `stock_code`, ... ), whichever of the source's header
    spellings it uses; a file without the fields gives no lines."""
    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        reader = csv.reader(handle)
        header = [name.strip().lower() for name in next(reader, [])]
        positions = {}
        for field_name, spellings in _SALES_FIELDS.items():
            matches = [header.index(spelling) for spelling in spellings if spelling in header]
            if not matches:
                return []
            positions[field_name] = matches[0]
        return [
            {name: (row[position].strip() if position < len(row) else "") for name, position in positions.items()}
            | {"customer": _customer_key(row[positions["customer"]] if positions["customer"] < len(row) else "")}
            for row in reader
            if row
        ]


def _customer_key(text: str) -> str:
    return text.strip().removesuffix(".0")


def write_feeds_for_sales(landing_root: Path, seed: int = 42, days: DateRange | None = None) -> list[Trigger]:
    """Derive a feed batch for every day from the first sales file under `landing_root` to the last (or to the end
    of `days`), in day order, from the sales themselves (the customers, products and invoices they name); write
    those of `days` (all when None) and return their triggers.

    Days without sales (closed days) get a batch too: the operational systems send theirs every day, and
    deliveries of earlier orders go on. Earlier days are derived too, so the feeds' history stays consistent.
    """
    history = FeedHistory(seed)
    triggers = []
    by_day: dict[date, list[Path]] = {}
    for path in sorted((landing_root / "raw" / "ecommerce_sales").glob("*/*/*/*.csv")):
        day = landing_day(str(path))
        if day is not None:
            by_day.setdefault(day, []).append(path)
    if not by_day:
        return triggers
    for day in DateRange(min(by_day), max(by_day) if days is None else max(days.end, max(by_day))):
        batch = history.day_feeds(day, [line for path in by_day.get(day, []) for line in read_sales_day(path)])
        if days is None or day in days:
            triggers.append(write_batch(landing_root, day, batch))
    return triggers
