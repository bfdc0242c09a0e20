"""Where raw daily CSV files arrive: `<root>/raw/ecommerce_sales/YYYY/MM/DD/*.csv`."""

import csv
from abc import ABC, abstractmethod
from collections.abc import Iterable
from datetime import date
from pathlib import Path

from dagster import ConfigurableResource

LANDING_PREFIX = "raw/ecommerce_sales"


def day_folder(day: date) -> str:
    """The landing folder of a day, relative to the landing root: `raw/ecommerce_sales/YYYY/MM/DD`."""
    return f"{LANDING_PREFIX}/{day:%Y/%m/%d}"


class LandingZone(ConfigurableResource, ABC):
    """Lists the CSV files delivered for given days as paths Spark can read."""

    @abstractmethod
    def files_for_day(self, day: date) -> list[str]:
        """The day's CSV files, sorted; empty when nothing was delivered (a day without sales)."""

    @abstractmethod
    def read_header(self, path: str) -> list[str]:
        """The fields of a file's first line (its header row); empty for an empty file."""

    def files_by_day(self, days: Iterable[date]) -> dict[date, list[str]]:
        """The CSV files of each given day that has any."""
        found = {day: self.files_for_day(day) for day in days}
        return {day: files for day, files in found.items() if files}


class LocalLandingZone(LandingZone):
    """A landing zone in a local folder."""

    root: str

    def files_for_day(self, day: date) -> list[str]:
        """The day's CSV files, sorted; empty when nothing was delivered (a day without sales)."""
        folder = Path(self.root).resolve() / day_folder(day)
        return sorted(str(path) for path in folder.glob("*.csv") if path.is_file())

    def read_header(self, path: str) -> list[str]:
        """The fields of a file's first line, decoded leniently so that any bytes give an answer."""
        with open(path, "rb") as handle:
            first_line = handle.readline().decode("utf-8-sig", errors="replace").rstrip("\r\n")
        return next(csv.reader([first_line]), []) if first_line else []
