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

import botocore.exceptions
from dagster import ConfigurableResource
from dagster_aws.s3 import S3Resource

from ecom_assets.dates import date_in_path

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
    return date_in_path(_DAY_PATH, path)


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

    @abstractmethod
    def full_path(self, relative: str) -> str:
        """The path (or `s3://` URI) of a path relative to the landing root."""

    @abstractmethod
    def read_if_present(self, relative: str) -> bytes | None:
        """The content of a file relative to the landing root; None when there is none."""

    @abstractmethod
    def move(self, relative: str, relative_target: str) -> str:
        """Move a file to another path relative to the landing root (replacing one there); returns its new path."""

    @abstractmethod
    def list_folder(self, relative: str, suffix: str, recursive: bool = False) -> list[ListedFile]:
        """The files in a folder relative to the landing root (directly in it, or at any depth when `recursive`)
        whose names end in `suffix`, sorted."""

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
        return [_listed(path) for path in sorted(base.glob("*/*/*/*.csv")) if path.is_file() and landing_day(str(path))]

    def full_path(self, relative: str) -> str:
        """The absolute local path."""
        return str(Path(self.root).resolve() / relative)

    def read_if_present(self, relative: str) -> bytes | None:
        """The file's content, None when it does not exist."""
        path = Path(self.full_path(relative))
        return path.read_bytes() if path.is_file() else None

    def move(self, relative: str, relative_target: str) -> str:
        """One rename (the target folder made first)."""
        target = Path(self.full_path(relative_target))
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.full_path(relative), target)
        return str(target)

    def list_folder(self, relative: str, suffix: str, recursive: bool = False) -> list[ListedFile]:
        """The folder's matching files, stamped with size and mtime."""
        folder = Path(self.full_path(relative))
        found = folder.rglob(f"*{suffix}") if recursive else folder.glob(f"*{suffix}")
        return [_listed(path) for path in sorted(found) if path.is_file()]

    def checksum(self, path: str) -> str:
        """The SHA-256 of the file's bytes."""
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()


def _listed(path: Path) -> ListedFile:
    status = os.stat(path)
    return ListedFile(str(path), f"{status.st_size}:{status.st_mtime_ns}", status.st_mtime_ns / 1e9)


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

    def full_path(self, relative: str) -> str:
        """The object's `s3://` URI."""
        return f"s3://{self.bucket}/{self.prefix}{relative}"

    def read_if_present(self, relative: str) -> bytes | None:
        """The object's content, None when there is no such key."""
        try:
            return self.read_bytes(self.full_path(relative))
        except botocore.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise

    def move(self, relative: str, relative_target: str) -> str:
        """Copy the object to the target key, then delete the original."""
        client = self.s3.get_client()
        source, target = f"{self.prefix}{relative}", f"{self.prefix}{relative_target}"
        client.copy_object(Bucket=self.bucket, Key=target, CopySource={"Bucket": self.bucket, "Key": source})
        client.delete_object(Bucket=self.bucket, Key=source)
        return f"s3://{self.bucket}/{target}"

    def list_folder(self, relative: str, suffix: str, recursive: bool = False) -> list[ListedFile]:
        """The folder's matching objects, stamped from the listing (size, ETag, last modified)."""
        folder = f"{self.prefix}{relative.rstrip('/')}/"
        return sorted(
            (
                ListedFile(
                    f"s3://{self.bucket}/{item['Key']}",
                    f"{item['Size']}:{item['ETag']}:{item['LastModified'].isoformat()}",
                    item["LastModified"].timestamp(),
                )
                for item in self._objects(folder)
                if item["Key"].endswith(suffix) and (recursive or "/" not in item["Key"][len(folder) :])
            ),
            key=lambda listed: listed.path,
        )
