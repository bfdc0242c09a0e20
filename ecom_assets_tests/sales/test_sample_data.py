"""The sample data generator and the importer of daily files."""

import csv
from datetime import date

from ecom_assets.cli.sample import main
from ecom_assets.feeds.contract import verify_batch
from ecom_assets.platform.dates import DateRange
from ecom_assets.sales.sample_data import HEADER, generate, import_days
from resources import LocalLandingZone

MONTH = DateRange(date(2011, 3, 1), date(2011, 3, 31))


def rows_of(paths):
    rows = []
    for path in paths:
        with path.open(newline="") as handle:
            reader = csv.reader(handle)
            assert next(reader) == HEADER
            rows.extend(reader)
    return rows


def test_generation_is_deterministic_by_seed_and_day(tmp_path):
    first = generate(tmp_path / "a", MONTH, seed=1)
    again = generate(tmp_path / "b", DateRange(date(2011, 3, 10), date(2011, 3, 12)), seed=1)
    other_seed = generate(tmp_path / "c", MONTH, seed=2)
    by_name = {p.name: p.read_bytes() for p in first}
    assert all(by_name[p.name] == p.read_bytes() for p in again), "a sub-range regenerates the same files"
    assert [p.read_bytes() for p in first] != [p.read_bytes() for p in other_seed]


def test_files_follow_the_landing_layout_and_skip_saturdays(tmp_path):
    files = generate(tmp_path, MONTH)
    assert files[0].relative_to(tmp_path).as_posix() == "raw/ecommerce_sales/2011/03/01/2011-03-01.csv"
    written_days = {date.fromisoformat(p.stem) for p in files}
    assert all(day.weekday() != 5 for day in written_days)
    assert len(written_days) == len([d for d in MONTH if d.weekday() != 5])


def test_generated_data_has_the_real_data_quirks(tmp_path):
    rows = rows_of(generate(tmp_path, DateRange(date(2011, 1, 1), date(2011, 6, 30))))
    description_commas = [r for r in rows if "," in r[2]]
    guests = [r for r in rows if r[6] == ""]
    cancellations = [r for r in rows if r[0].startswith("C") and int(r[3]) < 0]
    zero_prices = [r for r in rows if float(r[5]) == 0]
    fees = [r for r in rows if r[1] in {"POST", "DOT", "M", "BANK CHARGES", "AMAZONFEE", "C2"}]
    huge = [r for r in rows if abs(int(r[3])) >= 10_000]
    adjustments = [r for r in rows if r[0].startswith("A") and float(r[5]) < 0]
    duplicates = len(rows) - len({tuple(r) for r in rows})
    assert description_commas and cancellations and zero_prices and fees and huge and adjustments
    assert 0.15 < len(guests) / len(rows) < 0.35
    assert duplicates > 0
    assert all(r[6].endswith(".0") for r in rows if r[6])
    assert {r[0][1:] for r in huge if r[0].startswith("C")}, "huge orders are cancelled the same day"


def test_import_days_copies_daily_files_into_the_landing_layout(tmp_path):
    source = tmp_path / "by-day"
    source.mkdir()
    (source / "2011-01-04.csv").write_text(",".join(HEADER) + "\n")
    (source / "README.md").write_text("not a day")
    main(["import-days", str(source), "--landing-root", str(tmp_path / "landing")])
    assert (tmp_path / "landing/raw/ecommerce_sales/2011/01/04/2011-01-04.csv").exists()
    assert import_days(source, tmp_path / "again") == [tmp_path / "again/raw/ecommerce_sales/2011/01/04/2011-01-04.csv"]


def test_imported_days_get_feeds_that_verify_even_when_a_customer_starts_with_a_return(tmp_path):
    source = tmp_path / "by-day"
    source.mkdir()
    lines = {
        "2011-01-04": [["C536379", "D", "Discount", "-1", "2011-01-04 09:41", "27.50", "14527", "United Kingdom"]],
        "2011-01-05": [
            ["536380", "22961", "JAM MAKING SET", "24", "2011-01-05 09:41", "1.45", "14527", "United Kingdom"]
        ],
    }
    for day, rows in lines.items():
        with (source / f"{day}.csv").open("w", newline="") as handle:
            csv.writer(handle).writerows([HEADER, *rows])
    landing = tmp_path / "landing"
    main(["import-days", str(source), "--feeds", "--landing-root", str(landing)])
    for day in (date(2011, 1, 4), date(2011, 1, 5)):
        trigger = landing / f"raw/triggers/trigger_{day:%Y_%m_%d}.json"
        verdict = verify_batch(day, trigger.read_bytes(), LocalLandingZone(root=str(landing / "raw")).open_relative)
        assert verdict.complete, verdict.reason
    with (landing / "raw/customers/2011/01/04/customers_2011_01_04.csv").open(newline="") as handle:
        first_record = next(csv.DictReader(handle))
    assert (first_record["customer_id"], first_record["customer_tier"].lower()) == ("14527", "bronze")


def test_a_scaled_shop_has_that_many_times_the_invoices_each_numbered_once_across_days(tmp_path):
    week = DateRange(date(2011, 3, 7), date(2011, 3, 13))
    plain = rows_of(generate(tmp_path / "plain", week))
    scaled = rows_of(generate(tmp_path / "scaled", week, scale=10))

    def invoices_by_day(rows):
        by_day = {}
        for row in rows:
            if not row[0].startswith("A"):  # bad-debt adjustments have their own numbers
                by_day.setdefault(row[0].removeprefix("C"), set()).add(row[4][:10])
        return by_day

    assert 8 < len(scaled) / len(plain) < 12
    assert all(len(days) == 1 for days in invoices_by_day(scaled).values()), "no invoice number spans two days"
    assert 8 < len(invoices_by_day(scaled)) / len(invoices_by_day(plain)) < 12
    assert len({row[6] for row in scaled if row[6]}) > 2 * len({row[6] for row in plain if row[6]}), "more customers"
