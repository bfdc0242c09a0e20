"""An independent plain-Python computation of the gold metrics, to check the pipeline against.

Deliberately shares no logic with the Spark transforms: it re-reads the landing CSV files with
the csv module and applies the metric definitions of the README with Decimal arithmetic.
"""

import csv
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

import holidays
import yaml
from dateutil.easter import easter

from ecom_assets.sales.transforms.gold import FIGURE_COLUMNS  # the output format, not logic

CALENDAR_FILE = Path(__file__).resolve().parents[1] / "ecom_assets" / "platform" / "config" / "trading_calendar.yaml"
"""The shipped trading calendar, read by this reference on its own (see `shop_closed`)."""

FEES = {"POST", "DOT", "M", "m", "D", "C2", "S", "BANK CHARGES", "AMAZONFEE", "CRUK", "PADS", "B"}
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Line:
    """One distinct valid source line."""

    invoice_no: str
    stock_code: str
    quantity: int
    amount: Decimal
    order_date: date
    customer: str | None
    line_type: str


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _line_type(invoice_no: str, stock_code: str, quantity: int, price: Decimal) -> str:
    if invoice_no.startswith("C"):
        return "return"
    if invoice_no.startswith("A"):
        return "adjustment"
    if stock_code in FEES:
        return "fee"
    return "sale" if quantity > 0 and price > 0 else "other"


def distinct_valid_lines(landing_root: Path) -> list[Line]:
    """Every distinct parseable line of every landing CSV file under the root.

    Lines are the same when their values are (`2.550` is `2.55`, `17850.0` is `17850`); a price
    with more than 3 decimals is not valid (silver would have to round it).
    """
    seen: set[tuple] = set()
    lines = []
    for path in sorted(landing_root.glob("raw/ecommerce_sales/*/*/*/*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            for raw in csv.DictReader(handle):
                try:
                    quantity, price = int(raw["Quantity"].strip()), Decimal(raw["UnitPrice"].strip())
                    moment = datetime.strptime(raw["InvoiceDate"].strip(), "%Y-%m-%d %H:%M:%S")
                except (ValueError, InvalidOperation):
                    continue
                invoice_no, stock_code = raw["InvoiceNo"].strip(), raw["StockCode"].strip()
                if not invoice_no or not stock_code or price != price.quantize(Decimal("0.001")):
                    continue
                customer = raw["CustomerID"].strip().removesuffix(".0") or None
                description, country = raw["Description"].strip(), raw["Country"].strip()
                key = (invoice_no, stock_code, description, quantity, price.normalize(), moment, customer, country)
                if key in seen:
                    continue
                seen.add(key)
                lines.append(
                    Line(
                        invoice_no,
                        stock_code,
                        quantity,
                        quantity * price,
                        moment.date(),
                        customer,
                        _line_type(invoice_no, stock_code, quantity, price),
                    )
                )
    return lines


def expected_day_status(landing_root: Path, days: list[date]) -> dict[date, str]:
    """Each day's gold status from the definitions: a day with a file is complete, a day without one
    closed when the trading calendar says so, else missing its delivery (all days here are long past due)."""
    statuses = {}
    for day in days:
        if list((landing_root / f"raw/ecommerce_sales/{day:%Y/%m/%d}").glob("*.csv")):
            statuses[day] = "complete"
        else:
            statuses[day] = "closed" if shop_closed(day) else "missing_delivery"
    return statuses


def shop_closed(day: date, calendar_file: Path = CALENDAR_FILE) -> bool:
    """Whether the shipped trading calendar closes the shop on `day`: read here from the file itself, not through
    the project's calendar code (a closed weekday, a named closed day, a public holiday of the configured region,
    Easter Sunday, a listed shutdown, or the annual shutdown in a year no listed one starts in)."""
    entries = yaml.safe_load(calendar_file.read_text())
    weekdays = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    region = entries.get("public_holidays")
    listed_years = {entry["start"].year for entry in entries["shutdowns"]}
    annual = entries.get("annual_shutdown")
    in_annual = annual is not None and (
        (f"{day:%m-%d}" >= annual["start"] and day.year not in listed_years)
        or (f"{day:%m-%d}" <= annual["end"] and day.year - 1 not in listed_years)
    )
    return (
        weekdays[day.weekday()] in entries["closed_weekdays"]
        or any(entry["date"] == day for entry in entries["closed_days"] or [])
        or (region is not None and day in holidays.country_holidays(region["country"], subdiv=region["subdivision"]))
        or (entries.get("closed_on_easter_sunday", False) and day == easter(day.year))
        or any(entry["start"] <= day <= entry["end"] for entry in entries["shutdowns"])
        or in_annual
    )


def expected_sales_metrics(
    lines: list[Line], days: list[date], day_status: Mapping[date, str] | None = None
) -> dict[date, dict]:
    """The gold row of each day, computed from the definitions; `day_status` defaults to complete.

    Days neither complete nor closed show no figures.
    """
    first_sale: dict[str, date] = {}
    for line in lines:
        if line.line_type == "sale" and line.customer:
            first_sale[line.customer] = min(first_sale.get(line.customer, line.order_date), line.order_date)
    by_day: dict[date, list[Line]] = defaultdict(list)
    for line in lines:
        by_day[line.order_date].append(line)
    rows = {}
    for day in days:
        sales = [line for line in by_day[day] if line.line_type == "sale"]
        gross = sum((line.amount for line in sales), Decimal(0))
        returns = -sum((line.amount for line in by_day[day] if line.line_type == "return"), Decimal(0))
        orders = len({line.invoice_no for line in sales})
        customers = {line.customer for line in sales if line.customer}
        new = sum(1 for customer in customers if first_sale[customer] == day)
        status = (day_status or {}).get(day, "complete")
        if status not in ("complete", "closed"):
            rows[day] = {"order_date": day, "day_status": status, **dict.fromkeys(FIGURE_COLUMNS)}
            continue
        rows[day] = {
            "order_date": day,
            "day_status": status,
            "gross_revenue": _money(gross),
            "returns_amount": _money(returns),
            "net_revenue": _money(gross) - _money(returns),
            "order_count": orders,
            "units_sold": sum(line.quantity for line in sales),
            "avg_order_value": _money(gross / orders) if orders else None,
            "active_customers": len(customers),
            "new_customers": new,
            "returning_customers": len(customers) - new,
        }
    return rows


def expected_customer_totals(lines: list[Line]) -> dict[str, dict]:
    """Per known customer: distinct sale orders, gross sales and returns (positive), to the penny."""
    totals: dict[str, dict] = defaultdict(lambda: {"orders": set(), "gross": Decimal(0), "returns": Decimal(0)})
    for line in lines:
        if not line.customer or line.line_type not in ("sale", "return"):
            continue
        entry = totals[line.customer]
        if line.line_type == "sale":
            entry["orders"].add(line.invoice_no)
            entry["gross"] += line.amount
        else:
            entry["returns"] -= line.amount
    return {
        customer: {
            "orders": len(entry["orders"]),
            "gross_revenue": _money(entry["gross"]),
            "returns_amount": _money(entry["returns"]),
        }
        for customer, entry in totals.items()
    }


def expected_product_totals(lines: list[Line]) -> dict[str, dict]:
    """Per product (fees and charges left out): units sold, gross sales and units returned."""
    totals: dict[str, dict] = defaultdict(lambda: {"units": 0, "gross": Decimal(0), "returned": 0})
    for line in lines:
        if line.stock_code in FEES or line.line_type not in ("sale", "return"):
            continue
        entry = totals[line.stock_code]
        if line.line_type == "sale":
            entry["units"] += line.quantity
            entry["gross"] += line.amount
        else:
            entry["returned"] -= line.quantity
    return {
        code: {"units_sold": e["units"], "gross_revenue": _money(e["gross"]), "returned_units": e["returned"]}
        for code, e in totals.items()
    }
