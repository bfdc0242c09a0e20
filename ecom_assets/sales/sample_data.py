"""Sample landing data: a deterministic generator with the real data's quirks, and an importer.

ecom-sample generate --start 2011-01-01 --end 2011-01-31 --landing-root data [--faults]
ecom-sample import-days ../shared/data/online-retail/by-day --landing-root data
"""

import csv
import random
import re
import shutil
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from ecom_assets.platform.dates import DateRange
from ecom_assets.platform.trading_calendar import load_trading_calendar
from resources.landing import day_folder

HEADER = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"]
_INVOICES_PER_DAY = 100
"""Invoice numbers reserved per day and unit of scale: at most 45 regular invoices, the last two for oddities."""
_CUSTOMERS = 1_500
DAY_FILE_PATTERN = re.compile(r"^(\d{4})-(\d{2})-(\d{2})\.csv$")

_ITEMS = (
    "HEART T-LIGHT HOLDER",
    "METAL LANTERN",
    "CUPID HEARTS COAT HANGER",
    "HOT WATER BOTTLE",
    "JUMBO BAG",
    "LUNCH BAG",
    "CAKE CASES",
    "ALARM CLOCK",
    "CERAMIC MUG",
    "TEA TOWEL",
    "PHOTO FRAME",
    "DOORMAT",
    "CHRISTMAS DECORATION",
    "SCENTED CANDLE",
    "BIRTHDAY CARD",
    "WALL ART",
    "NAPKINS",
    "BUNTING",
    "PARTY BAG",
    "STORAGE TIN",
    "WATER BOTTLE",
    "CHILDRENS APRON",
    "NOTEBOOK",
    "PAPER CHAIN KIT",
)
_STYLES = (
    "WHITE",
    "RED",
    "PINK",
    "BLUE",
    "VINTAGE",
    "RETROSPOT",
    "REGENCY",
    "SPACEBOY",
    "DOLLY GIRL",
    "WOODLAND",
    "ROSES",
    "POLKADOT",
    "GLASS STAR",
    "PAISLEY",
    "SKULLS",
    "STRAWBERRY",
)
_COUNTRIES = (
    ("United Kingdom", 85),
    ("Germany", 3),
    ("France", 3),
    ("EIRE", 2),
    ("Spain", 1),
    ("Netherlands", 1),
    ("Belgium", 1),
    ("Switzerland", 1),
    ("Portugal", 1),
    ("Australia", 1),
    ("Norway", 1),
)
_QUANTITIES = (1, 1, 2, 2, 3, 4, 6, 6, 8, 10, 12, 12, 12, 24, 24, 25, 36, 48, 72, 96, 144)
_FEES = (
    ("POST", "POSTAGE", 18.0),
    ("DOT", "DOTCOM POSTAGE", 120.0),
    ("M", "Manual", 2.55),
    ("BANK CHARGES", "Bank Charges", 15.0),
    ("AMAZONFEE", "AMAZON FEE", 5_500.0),
    ("C2", "CARRIAGE", 50.0),
)


@dataclass(frozen=True)
class Product:
    """A catalogue product of the generated shop; from `revised_on`, it sells under a new description or price."""

    stock_code: str
    description: str
    unit_price: float
    revised_on: date | None = None
    revised_description: str | None = None
    revised_price: float | None = None

    def on(self, day: date) -> "Product":
        """The product as listed on `day` (its revision applies from `revised_on`)."""
        if self.revised_on is None or day < self.revised_on:
            return self
        return Product(
            self.stock_code, self.revised_description or self.description, self.revised_price or self.unit_price
        )


@dataclass(frozen=True)
class Customer:
    """A registered customer of the generated shop; from `moved_on`, it orders from `new_country`."""

    customer_id: str
    country: str
    moved_on: date | None = None
    new_country: str | None = None

    def on(self, day: date) -> "Customer":
        """The customer as known on `day`."""
        if self.moved_on is None or day < self.moved_on:
            return self
        return Customer(self.customer_id, self.new_country or self.country)


def _with_revisions(seed: int, products: list[Product], customers: list[Customer]) -> tuple[list, list]:
    """Give some products a new description (5 %) or price (10 %), and some customers a new country (2 %).

    Changes happen on a day between 2010-12-06 and 2011-11-30, so SCD2 history has something to
    track. A separate random stream keeps the rest of the generated data as it was.
    """
    rng = random.Random(f"{seed}:revisions")
    first = date(2010, 12, 6)
    revised_products = []
    for product in products:
        draw, when = rng.random(), first + timedelta(days=rng.randint(0, 360))
        if draw < 0.05:
            renamed = f"{rng.choice(_STYLES)} {product.description.split(' ', 1)[-1]}"
            product = Product(product.stock_code, product.description, product.unit_price, when, renamed)
        elif draw < 0.15:
            raised = round(product.unit_price * rng.choice((1.1, 1.25, 1.5)), 2)
            product = Product(product.stock_code, product.description, product.unit_price, when, None, raised)
        revised_products.append(product)
    countries = [country for country, _ in _COUNTRIES]
    revised_customers = [
        Customer(c.customer_id, c.country, first + timedelta(days=rng.randint(0, 360)), rng.choice(countries))
        if rng.random() < 0.02
        else c
        for c in customers
    ]
    return revised_products, revised_customers


def _catalogue(rng: random.Random, size: int = 400) -> list[Product]:
    products = []
    for number in range(size):
        description = f"{rng.choice(_STYLES)} {rng.choice(_ITEMS)}"
        if rng.random() < 0.06:
            description = f"{rng.choice(_ITEMS)}, {rng.choice(_STYLES)}"
        stock_code = f"{21000 + number * 7}" + (rng.choice("ABCDEFG") if rng.random() < 0.3 else "")
        price = round(rng.choice((0.29, 0.42, 0.65, 0.85, 1.25, 1.65, 2.1, 2.55, 2.95, 3.75, 4.95, 7.95, 12.75)), 2)
        products.append(Product(stock_code, description, price))
    return products


def _customers(rng: random.Random, size: int) -> list[Customer]:
    countries, weights = zip(*_COUNTRIES, strict=True)
    return [Customer(f"{12346 + number * 4}.0", rng.choices(countries, weights)[0]) for number in range(size)]


def _day_index(day: date) -> int:
    """Days since the first day of the data, 2010-12-01: what a day's invoice numbers are counted from."""
    return (day - date(2010, 12, 1)).days


def _day_rng(seed: int, day: date) -> random.Random:
    return random.Random(f"{seed}:{day.isoformat()}")


def generate_day(
    day: date, seed: int, products: list[Product], customers: list[Customer], scale: int = 1
) -> list[list[str]]:
    """The CSV rows (without header) of one trading day; the same day, seed and scale give the same rows.

    `scale` multiplies the day's invoices (and so its rows); invoice numbers stay unique across days.
    """
    rng = _day_rng(seed, day)
    invoice_count = scale * (rng.randint(15, 45) if day.weekday() != 4 else rng.randint(8, 20))
    first_invoice = 536365 + _day_index(day) * _INVOICES_PER_DAY * scale
    rows: list[list[str]] = []
    sold: list[list[str]] = []
    for number in range(invoice_count):
        invoice_no = str(first_invoice + number)
        moment = datetime(day.year, day.month, day.day, 8) + timedelta(minutes=rng.randint(0, 11 * 60))
        timestamp = moment.strftime("%Y-%m-%d %H:%M:%S")
        guest = rng.random() < 0.25
        customer = rng.choice(customers).on(day)
        customer_id = "" if guest else customer.customer_id
        country = "United Kingdom" if guest else customer.country
        for listed in rng.sample(products, rng.randint(1, 25)):
            product = listed.on(day)
            quantity = rng.choice(_QUANTITIES)
            price = 0.0 if rng.random() < 0.007 else product.unit_price
            row = [
                invoice_no,
                product.stock_code,
                product.description,
                str(quantity),
                timestamp,
                f"{price:g}",
                customer_id,
                country,
            ]
            rows.append(row)
            sold.append(row)
            if rng.random() < 0.01:
                rows.append(list(row))  # exact duplicate line, as the source system sometimes sends
        if rng.random() < 0.15:
            code, description, price = rng.choice(_FEES)
            rows.append([invoice_no, code, description, "1", timestamp, f"{price:g}", customer_id, country])
    rows.extend(_cancellations(rng, sold))
    rows.extend(_oddities(rng, day, first_invoice + _INVOICES_PER_DAY * scale, products, customers))
    return rows


def _cancellations(rng: random.Random, sold: list[list[str]]) -> list[list[str]]:
    cancelled = []
    for row in rng.sample(sold, k=min(len(sold), rng.randint(0, 6))):
        quantity = -rng.randint(1, int(row[3]))
        cancelled.append([f"C{row[0]}", row[1], row[2], str(quantity), row[4], row[5], row[6], row[7]])
    return cancelled


def _oddities(
    rng: random.Random, day: date, next_day_invoice: int, products: list[Product], customers: list[Customer]
) -> list[list[str]]:
    """Rare lines: huge orders cancelled the same day, stock write-offs, bad-debt adjustments.

    They take the last invoice numbers before `next_day_invoice`, the next day's first.
    """
    rows = []
    timestamp = f"{day:%Y-%m-%d} 17:{rng.randint(0, 59):02d}:00"
    if rng.random() < 0.02:
        product, customer = rng.choice(products).on(day), rng.choice(customers).on(day)
        quantity = rng.randint(10_000, 80_000)
        invoice_no = str(next_day_invoice - 1)
        rows.append(
            [
                invoice_no,
                product.stock_code,
                product.description,
                str(quantity),
                timestamp,
                f"{product.unit_price:g}",
                customer.customer_id,
                customer.country,
            ]
        )
        rows.append(
            [
                f"C{invoice_no}",
                product.stock_code,
                product.description,
                str(-quantity),
                timestamp,
                f"{product.unit_price:g}",
                customer.customer_id,
                customer.country,
            ]
        )
    if rng.random() < 0.1:
        product = rng.choice(products)
        rows.append(
            [
                str(next_day_invoice - 2),
                product.stock_code,
                "damaged",
                str(-rng.randint(1, 50)),
                timestamp,
                "0",
                "",
                "United Kingdom",
            ]
        )
    if rng.random() < 0.01:
        rows.append(
            [
                f"A{563185 + _day_index(day)}",
                "B",
                "Adjust bad debt",
                "1",
                timestamp,
                f"{-rng.randint(1_000, 12_000)}.{rng.randint(0, 99):02d}",
                "",
                "United Kingdom",
            ]
        )
    return rows


def _write_day_file(landing_root: Path, day: date, rows: list[list[str]]) -> Path:
    folder = landing_root / day_folder(day)
    folder.mkdir(parents=True, exist_ok=True)
    return _write_rows(folder / f"{day.isoformat()}.csv", HEADER, rows)


def _write_rows(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def generate(landing_root: Path, days: DateRange, seed: int = 42, scale: int = 1) -> list[Path]:
    """Write one landing file per trading day of `days`; returns the files written.

    The trading days are those the shipped trading calendar leaves open, so the shop closes on
    the days the pipeline expects no file. `scale` multiplies each day's invoices and the
    customer base (a larger shop, same catalogue).
    """
    calendar = load_trading_calendar()
    catalogue_rng = random.Random(seed)
    products, customers = _with_revisions(
        seed, _catalogue(catalogue_rng), _customers(catalogue_rng, size=_CUSTOMERS * scale)
    )
    return [
        _write_day_file(landing_root, day, generate_day(day, seed, products, customers, scale))
        for day in days
        if calendar.closure(day) is None
    ]


RENAMED_HEADER = ["Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price", "Customer ID", "Country"]
"""The header of the source system's newer export ("Online Retail II"): renamed columns our contract does not take."""
BAD_LINES_IN_BURST = 40


def plant_faults(landing_root: Path, files: list[Path], seed: int = 42) -> list[str]:
    """Plant the faults a steward meets in real deliveries into generated day files; returns what was planted.

    Among the trading days (in order): the 3rd gets a second file in the renamed export header,
    the 5th's file is never delivered, the 8th's file ends with a burst of unreadable lines.
    A shorter range gets the faults its days allow.
    """
    rng = random.Random(seed)
    files = sorted(files)
    planted = []
    if len(files) > 2:
        day_file = files[2]
        with day_file.open(encoding="utf-8") as handle:
            rows = list(csv.reader(handle))[1:6]
        late = day_file.with_name(f"{day_file.stem}-late.csv")
        _write_rows(late, RENAMED_HEADER, rows)
        planted.append(f"{late.relative_to(landing_root)}: a second file in the renamed export header")
    if len(files) > 4:
        files[4].unlink()
        planted.append(f"{files[4].relative_to(landing_root)}: a trading day's file never delivered")
    if len(files) > 7:
        day = files[7].stem
        with files[7].open("a", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            for number in range(BAD_LINES_IN_BURST):
                quantity = rng.choice(["12x", "", "N/A", "1e99"])
                writer.writerow(
                    [f"5{number:05d}", "85123A", "GARBLED", quantity, f"{day} 25:61:00", "two", "", "United Kingdom"]
                )
        planted.append(f"{files[7].relative_to(landing_root)}: {BAD_LINES_IN_BURST} unreadable lines at its end")
    return planted


def import_days(source: Path, landing_root: Path) -> list[Path]:
    """Copy `YYYY-MM-DD.csv` files of a folder into the landing layout; returns the files written."""
    written = []
    for path in sorted(source.iterdir()):
        match = DAY_FILE_PATTERN.match(path.name)
        if not match:
            continue
        day = date(*(int(part) for part in match.groups()))
        folder = landing_root / day_folder(day)
        folder.mkdir(parents=True, exist_ok=True)
        written.append(Path(shutil.copy2(path, folder / path.name)))
    return written
