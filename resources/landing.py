"""Where raw daily CSV files arrive: `<root>/raw/ecommerce_sales/YYYY/MM/DD/*.csv`.

A file that cannot be read is moved to `<root>/quarantine/ecommerce_sales/YYYY/MM/DD/`, where it
keeps its day quarantined until a file of the same name is delivered again (or a steward deletes
the quarantined copy to accept the day without it).
"""

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
QUARANTINE_PREFIX = "quarantine/ecommerce_sales"
_DAY_PATH = re.compile(r"(\d{4})/(\d{2})/(\d{2})/[^/]+\.csv$")


def day_folder(day: date, prefix: str = LANDING_PREFIX) -> str:
    """The landing folder of a day, relative to the landing root: `raw/ecommerce_sales/YYYY/MM/DD`
    (under `quarantine/` for the quarantine's folder)."""
    return f"{prefix}/{day:%Y/%m/%d}"


def file_name(path: str) -> str:
    """The last part of a landing path."""
    return path.replace("\\", "/").rsplit("/", 1)[-1]


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
    def delivered_at(self, day: date) -> float | None:
        """When the day's newest file was written (seconds since the epoch); None when it has none."""

    @abstractmethod
    def list_files(self) -> list[ListedFile]:
        """Every CSV file in a `YYYY/MM/DD` folder of the landing zone, by path, as one listing shows them."""

    @abstractmethod
    def checksum(self, path: str) -> str:
        """The SHA-256 of a file's content."""

    @abstractmethod
    def read_bytes(self, path: str) -> bytes:
        """A file's whole content."""

    @abstractmethod
    def quarantine(self, path: str) -> str:
        """Move a landing file to the quarantine folder of its day (replacing an older copy); returns its new path."""

    @abstractmethod
    def quarantined_files(self) -> list[str]:
        """Every file in the quarantine's day folders, sorted (one listing)."""

    def quarantined_by_day(self, days: Iterable[date]) -> dict[date, list[str]]:
        """The quarantined files of each given day that has any."""
        wanted = set(days)
        found: dict[date, list[str]] = {}
        for path in self.quarantined_files():
            if landing_day(path) in wanted:
                found.setdefault(landing_day(path), []).append(path)
        return found

    @abstractmethod
    def delete(self, path: str) -> None:
        """Delete a file (a quarantined copy that a re-delivery replaced)."""

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

    def delivered_at(self, day: date) -> float | None:
        """The newest modification time of the day's files."""
        return max((os.stat(path).st_mtime for path in self.files_for_day(day)), default=None)

    def quarantine(self, path: str) -> str:
        """Move the file into its day's quarantine folder (one rename)."""
        day = landing_day(path)
        target = Path(self.root).resolve() / day_folder(day, QUARANTINE_PREFIX) / file_name(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)
        return str(target)

    def quarantined_files(self) -> list[str]:
        """Every CSV file in a `YYYY/MM/DD` folder of the quarantine, sorted."""
        base = Path(self.root).resolve() / QUARANTINE_PREFIX
        return sorted(str(path) for path in base.glob("*/*/*/*.csv") if path.is_file())

    def delete(self, path: str) -> None:
        """Delete the file (gone already is fine)."""
        Path(path).unlink(missing_ok=True)

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

    def delivered_at(self, day: date) -> float | None:
        """The newest last-modified time among the day's objects (from one listing)."""
        objects = [item for item in self._objects(f"{self.prefix}{day_folder(day)}/") if item["Key"].endswith(".csv")]
        return max((item["LastModified"].timestamp() for item in objects), default=None)

    def quarantine(self, path: str) -> str:
        """Copy the object into its day's quarantine folder, then delete it from the landing folder."""
        key = self._key(path)
        target = f"{self.prefix}{day_folder(landing_day(key), QUARANTINE_PREFIX)}/{file_name(key)}"
        client = self.s3.get_client()
        client.copy_object(Bucket=self.bucket, Key=target, CopySource={"Bucket": self.bucket, "Key": key})
        client.delete_object(Bucket=self.bucket, Key=key)
        return f"s3://{self.bucket}/{target}"

    def quarantined_files(self) -> list[str]:
        """Every CSV object in a `YYYY/MM/DD` folder of the quarantine, as `s3://` paths, sorted (one listing)."""
        keys = self._keys(f"{self.prefix}{QUARANTINE_PREFIX}/")
        return sorted(f"s3://{self.bucket}/{key}" for key in keys if key.endswith(".csv") and landing_day(key))

    def delete(self, path: str) -> None:
        """Delete the object."""
        self.s3.get_client().delete_object(Bucket=self.bucket, Key=self._key(path))

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
