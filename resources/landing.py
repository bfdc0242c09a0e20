"""Where raw daily CSV files arrive: `<root>/raw/ecommerce_sales/YYYY/MM/DD/*.csv`."""

import hashlib
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from dagster import ConfigurableResource
from dagster_aws.s3 import S3Resource

LANDING_PREFIX = "raw/ecommerce_sales"
_DAY_PATH = re.compile(r"(\d{4})/(\d{2})/(\d{2})/[^/]+\.csv$")


def day_folder(day: date) -> str:
    """The landing folder of a day, relative to the landing root: `raw/ecommerce_sales/YYYY/MM/DD`."""
    return f"{LANDING_PREFIX}/{day:%Y/%m/%d}"


def landing_day(path: str) -> date | None:
    """The day a landing file was delivered for, from its `YYYY/MM/DD/` folder; None if it has none."""
    match = _DAY_PATH.search(path.replace("\\", "/"))
    if not match:
        return None
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


@dataclass(frozen=True)
class ListedFile:
    """A landing file as the listing shows it, with no request of its own."""

    path: str
    fingerprint: str
    """Changes when the file is rewritten: size and modification time (an object's ETag on S3)."""
    modified: float
    """When it was last written, in seconds since the epoch."""


class LandingZone(ConfigurableResource, ABC):
    """Lists the CSV files delivered for given days as paths Spark can read."""

    @abstractmethod
    def files_for_day(self, day: date) -> list[str]:
        """The day's CSV files, sorted; empty when nothing was delivered (a day without sales)."""

    @abstractmethod
    def list_files(self) -> list[ListedFile]:
        """Every CSV file in a `YYYY/MM/DD` folder of the landing zone, by path, as one listing shows them."""

    @abstractmethod
    def checksum(self, path: str) -> str:
        """The SHA-256 of a file's content."""

    @abstractmethod
    def read_bytes(self, path: str) -> bytes:
        """A file's whole content."""

    def spark_path(self, path: str) -> str:
        """Where Spark reads the file: the file's own path by default."""
        return path

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

    def read_bytes(self, path: str) -> bytes:
        """The file's content."""
        return Path(path).read_bytes()

    def list_files(self) -> list[ListedFile]:
        """Every CSV file in a `YYYY/MM/DD` folder under the landing prefix, by path; stamped with size and mtime."""
        base = Path(self.root).resolve() / LANDING_PREFIX
        listed = []
        for path in sorted(base.glob("*/*/*/*.csv")):
            if path.is_file() and landing_day(str(path)):
                status = os.stat(path)
                listed.append(ListedFile(str(path), f"{status.st_size}:{status.st_mtime_ns}", status.st_mtime_ns / 1e9))
        return listed

    def checksum(self, path: str) -> str:
        """The SHA-256 of the file's bytes."""
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()


class S3LandingZone(LandingZone):
    """A landing zone in an S3 bucket: `s3://<bucket>/<prefix>raw/ecommerce_sales/YYYY/MM/DD/*.csv`.

    Files are listed and profiled through dagster-aws's S3 resource (boto3; credentials from the
    environment); Spark reads them itself at `s3a://` (hadoop-aws locally, the cluster's S3
    connector on Databricks).
    """

    s3: S3Resource
    bucket: str
    prefix: str = ""

    def _key(self, path: str) -> str:
        return path.removeprefix(f"s3://{self.bucket}/")

    def _objects(self, prefix: str) -> list[dict]:
        """The listing's entries (key, size, ETag, last modified) of every object under the prefix."""
        client = self.s3.get_client()
        objects = []
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            objects.extend(page.get("Contents", []))
        return objects

    def _keys(self, prefix: str) -> list[str]:
        return [item["Key"] for item in self._objects(prefix)]

    def files_for_day(self, day: date) -> list[str]:
        """The day's CSV objects as `s3://` paths, sorted."""
        folder = f"{self.prefix}{day_folder(day)}/"
        keys = [key for key in self._keys(folder) if key.endswith(".csv") and "/" not in key[len(folder) :]]
        return sorted(f"s3://{self.bucket}/{key}" for key in keys)

    def list_files(self) -> list[ListedFile]:
        """Every CSV object in a `YYYY/MM/DD` folder under the landing prefix, by path; stamped from the listing
        itself (size, ETag, last modified), without a request per object."""
        objects = self._objects(f"{self.prefix}{LANDING_PREFIX}/")
        return sorted(
            (
                ListedFile(
                    f"s3://{self.bucket}/{item['Key']}",
                    f"{item['Size']}:{item['ETag']}:{item['LastModified'].isoformat()}",
                    item["LastModified"].timestamp(),
                )
                for item in objects
                if landing_day(item["Key"])
            ),
            key=lambda listed: listed.path,
        )

    def checksum(self, path: str) -> str:
        """The SHA-256 of the object's bytes."""
        return hashlib.sha256(self.read_bytes(path)).hexdigest()

    def read_bytes(self, path: str) -> bytes:
        """The object's content."""
        return self.s3.get_client().get_object(Bucket=self.bucket, Key=self._key(path))["Body"].read()

    def spark_path(self, path: str) -> str:
        """The object's `s3a://` URI."""
        return f"s3a://{self.bucket}/{self._key(path)}"
