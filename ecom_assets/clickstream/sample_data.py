"""Sample web-shop behaviour events in the REES46 export's format, landed per hour.

Sessions of returning users browse a catalogue whose prices change over time, some add to cart,
remove or buy; a few events come without a session, bots fire bursts of views, some lines are
re-sent, categories and brands are often empty, and traffic follows the time of day.
"""

import csv
import functools
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from ecom_assets.clickstream.transforms import EVENT_FOLDER, RAW_EVENT_COLUMNS
from ecom_assets.platform.dates import DateRange

CLICKSTREAM_FOLDER = Path(EVENT_FOLDER)
"""Under the landing root: `raw/clickstream/YYYY/MM/DD/HH/*.csv`."""
_CATEGORIES = (
    (2053013555631882655, "electronics.smartphone"),
    (2053013554658804075, "electronics.audio.headphone"),
    (2053013563810775923, "appliances.kitchen.washer"),
    (2053013565983425517, "appliances.environment.vacuum"),
    (2053013558920217191, "computers.notebook"),
    (2053013553853497655, "apparel.shoes"),
    (2053013552326770905, "furniture.living_room.sofa"),
    (2103807459595387724, ""),
    (2053013556168753601, ""),
)
"""(category_id, category_code): the export leaves the code empty for many categories."""
_BRANDS = ("samsung", "apple", "xiaomi", "huawei", "lg", "bosch", "lucente", "sony", "nike", "")
_HOURLY_TRAFFIC = (3, 2, 2, 2, 3, 5, 8, 10, 11, 11, 10, 10, 10, 10, 10, 11, 12, 13, 14, 14, 12, 9, 6, 4)
"""Relative sessions per UTC hour of the day."""
_SESSIONLESS_SHARE = 0.03
_RESENT_LINE_SHARE = 0.002
_CART_AFTER_VIEWS = 0.15
_REMOVE_AFTER_CART = 0.2
_PURCHASE_AFTER_CART = 0.45
_BOT_VIEWS_PER_MINUTE = 40


@dataclass(frozen=True)
class CatalogItem:
    """A product as the shop lists it: its category, brand and base price."""

    product_id: int
    category_id: int
    category_code: str
    brand: str
    base_price: float


def catalogue(seed: int, size: int = 300) -> list[CatalogItem]:
    """The shop's products, the same for a seed."""
    rng = random.Random(f"{seed}:clickstream-catalogue")
    items = []
    for number in range(size):
        category_id, category_code = rng.choice(_CATEGORIES)
        price = round(rng.lognormvariate(4.0, 1.0), 2)
        items.append(CatalogItem(1_000_000 + number * 37, category_id, category_code, rng.choice(_BRANDS), price))
    return items


def price_at(seed: int, item: CatalogItem, moment: datetime) -> str:
    """The item's price at a moment: repriced on some days, and for some items again at noon."""
    morning, afternoon = _price_factors(seed, item.product_id, moment.date())
    return f"{item.base_price * (afternoon if moment.hour >= 12 else morning):.2f}"


@functools.cache
def _price_factors(seed: int, product_id: int, day: date) -> tuple[float, float]:
    day_rng = random.Random(f"{seed}:price:{product_id}:{day.isoformat()}")
    factor = day_rng.choice((1.0, 1.0, 1.0, 1.0, 0.9, 0.95, 1.05, 1.1))
    return factor, factor * (0.85 if day_rng.random() < 0.1 else 1.0)  # some items go on sale at noon


def _session_events(
    rng: random.Random, seed: int, items: list[CatalogItem], user_id: int, start: datetime
) -> list[list[str]]:
    session = "" if rng.random() < _SESSIONLESS_SHARE else _uuid(rng)
    moment = start
    events = []

    def event(event_type: str, item: CatalogItem) -> None:
        nonlocal moment
        moment += timedelta(seconds=rng.randint(5, 120))
        events.append(_line(seed, event_type, item, moment, user_id, session))

    viewed = [rng.choice(items) for _ in range(1 + int(rng.expovariate(0.35)))]
    for item in viewed:
        event("view", item)
    if rng.random() < _CART_AFTER_VIEWS:
        chosen = rng.choice(viewed)
        event("cart", chosen)
        if rng.random() < _REMOVE_AFTER_CART:
            event("remove_from_cart", chosen)
        elif rng.random() < _PURCHASE_AFTER_CART:
            event("purchase", chosen)
    return events


def _line(seed: int, event_type: str, item: CatalogItem, moment: datetime, user_id: int, session: str) -> list[str]:
    """An event as the export writes it."""
    return [
        f"{moment:%Y-%m-%d %H:%M:%S} UTC",
        event_type,
        str(item.product_id),
        str(item.category_id),
        item.category_code,
        item.brand,
        price_at(seed, item, moment),
        str(user_id),
        session,
    ]


def _uuid(rng: random.Random) -> str:
    digits = f"{rng.getrandbits(128):032x}"
    return f"{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-a{digits[17:20]}-{digits[20:]}"


def _bot_burst(rng: random.Random, seed: int, items: list[CatalogItem], hour: datetime) -> list[list[str]]:
    """A scraper: a few minutes of views far faster than a person clicks, under one session."""
    user_id, session = 600_000_000 + rng.randint(0, 999), _uuid(rng)
    start = hour + timedelta(minutes=rng.randint(0, 50))
    events = []
    for minute in range(rng.randint(2, 4)):
        for view in range(_BOT_VIEWS_PER_MINUTE):
            moment = start + timedelta(minutes=minute, seconds=view * 60 // _BOT_VIEWS_PER_MINUTE)
            events.append(_line(seed, "view", rng.choice(items), moment, user_id, session))
    return events


def day_events(seed: int, day: date, sessions_per_day: int, items: list[CatalogItem]) -> list[list[str]]:
    """A day's events in time order (sessions started that day; the last may run past midnight), re-sent lines
    included; one bot burst in a random hour."""
    rng = random.Random(f"{seed}:clickstream:{day.isoformat()}")
    users = [500_000_000 + rng.randint(0, sessions_per_day * 3) for _ in range(sessions_per_day)]
    midnight = datetime(day.year, day.month, day.day)
    total = sum(_HOURLY_TRAFFIC)
    events = []
    for hour, weight in enumerate(_HOURLY_TRAFFIC):
        for _ in range(round(sessions_per_day * weight / total)):
            start = midnight + timedelta(hours=hour, seconds=rng.randint(0, 3599))
            events.extend(_session_events(rng, seed, items, rng.choice(users), start))
    events.extend(_bot_burst(rng, seed, items, midnight + timedelta(hours=rng.randint(0, 23))))
    events.extend([list(line) for line in events if rng.random() < _RESENT_LINE_SHARE])
    return sorted(events, key=lambda line: line[0])


def _hour_of(line: list[str]) -> datetime:
    return datetime.strptime(line[0][:13], "%Y-%m-%d %H")


def hour_folder(hour: datetime) -> Path:
    """Where the files of an hour land, under the landing root."""
    return CLICKSTREAM_FOLDER / f"{hour:%Y/%m/%d/%H}"


def write_clickstream(
    landing_root: Path, days: DateRange, seed: int = 42, sessions_per_day: int = 2_000, faults: bool = False
) -> list[Path]:
    """Land `days` of events as one to three files per hour and day of the sessions they carry, named
    `events_<hour>_<day>_<part>.csv` (a session after 23:00 may run into the next day's first hour); returns
    the files. With `faults`, the first file also holds an unknown event type and ends with a truncated line."""
    items = catalogue(seed)
    written = []
    for day in days:
        by_hour: dict[datetime, list[list[str]]] = {}
        for line in day_events(seed, day, sessions_per_day, items):
            by_hour.setdefault(_hour_of(line), []).append(line)
        rng = random.Random(f"{seed}:clickstream-files:{day.isoformat()}")
        for hour, lines in sorted(by_hour.items()):
            parts = rng.randint(1, 3)
            size = -(-len(lines) // parts)
            for part in range(parts):
                chunk = lines[part * size : (part + 1) * size]
                if chunk:
                    name = f"events_{hour:%Y%m%d_%H}_{day:%Y%m%d}_{part}.csv"
                    written.append(_write_events(landing_root / hour_folder(hour) / name, chunk))
    if faults and written:
        _plant_faults(written[0])
    return written


def _write_events(path: Path, lines: list[list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(RAW_EVENT_COLUMNS)
        writer.writerows(lines)
    return path


def _plant_faults(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    fields = lines[1].split(",")
    fields[1] = "wishlist"
    lines.append(",".join(fields))
    lines.append(lines[1][: len(lines[1]) // 2])  # cut off mid-line, without its line break
    path.write_text("\n".join(lines), encoding="utf-8")
