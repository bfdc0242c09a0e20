"""Where raw files arrive: daily sales CSVs at `<root>/raw/ecommerce_sales/YYYY/MM/DD/*.csv`, and beside them the
operational feeds, their triggers and the clickstream.

Every byte there is written by other systems, so a landing zone touches nothing outside its root:
each path is checked (`checked_relative`) before it is used, a local zone walks its folders
without following a symbolic link (each folder opened with `O_NOFOLLOW` below the root) and opens
only regular files, and files are read as streams, never whole. A listing shows links, folders
and devices that carry a landing name too, so that the pipeline can reject them with a reason.

A file that cannot be read is moved to `<root>/quarantine/ecommerce_sales/YYYY/MM/DD/`, where it
keeps its day quarantined until a file of the same name is delivered again (or a steward deletes
the quarantined copy to accept the day without it). No move ever replaces a file: an earlier copy
at the target is first set aside as `<name>.1` (`.2`, ...).
"""

import errno
import hashlib
import os
import re
import stat
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import BinaryIO

import botocore.exceptions
from dagster import ConfigurableResource
from dagster_aws.s3 import S3Resource

from resources.untrusted import LandingLimits, PathRefused, checked_relative, safe_text

LANDING_PREFIX = "raw/ecommerce_sales"
QUARANTINE_PREFIX = "quarantine/ecommerce_sales"
_DAY_PATH = re.compile(r"(\d{4})/(\d{2})/(\d{2})/[^/]+\.csv$")
CHUNK_BYTES = 1 << 20
"""How much of a file is held at once while it is streamed."""
MAX_FOLDER_DEPTH = 8
"""How deep a listing walks below its folder (the deepest layout, the clickstream's, is 4): a hostile tree of
folders costs a bounded walk, never a crash."""


class InputTooLarge(PathRefused):
    """A file larger than the limit its reader allows (a trigger over `max_trigger_bytes`)."""


def day_folder(day: date, prefix: str = LANDING_PREFIX) -> str:
    """The landing folder of a day, relative to the landing root: `raw/ecommerce_sales/YYYY/MM/DD`
    (under `quarantine/` for the quarantine's folder)."""
    return f"{prefix}/{day:%Y/%m/%d}"


def file_name(path: str) -> str:
    """The last part of a landing path."""
    return path.rsplit("/", 1)[-1]


def landing_day(path: str) -> date | None:
    """The day a landing file was delivered for, from its `YYYY/MM/DD/` folder; None if it has none."""
    match = _DAY_PATH.search(path)
    try:
        return date(*(int(part) for part in match.groups())) if match else None
    except ValueError:
        return None


def stream_chunks(handle: BinaryIO, size: int = CHUNK_BYTES) -> Iterator[bytes]:
    """A stream's bytes in chunks of at most `size`."""
    while chunk := handle.read(size):
        yield chunk


@dataclass(frozen=True)
class ListedFile:
    """A landing entry as the listing shows it, with no request of its own."""

    path: str
    fingerprint: str
    """Changes when the file is rewritten: size and modification time (an object's ETag on S3)."""
    modified: float
    """When it was last written, in seconds since the epoch."""
    regular: bool = True
    """False for a link, folder or device carrying a landing name: it is never read."""


@dataclass(frozen=True)
class DayListing:
    """The landing files of some days, and the days whose folder could not be listed safely (with why)."""

    files: dict[date, list[str]] = field(default_factory=dict)
    refused: dict[date, str] = field(default_factory=dict)


class LandingZone(ConfigurableResource, ABC):
    """Lists, streams and moves the files delivered under one root; never a path outside it."""

    limits: LandingLimits = LandingLimits()

    @abstractmethod
    def files_for_day(self, day: date) -> list[str]:
        """The day's entries named `*.csv`, sorted (a link or folder among them is refused when opened); empty when
        nothing was delivered. Raises `PathRefused` when the day's folder is a link."""

    def files_by_day(self, days: Iterable[date]) -> DayListing:
        """The CSV entries of each given day that has any, and the days whose folder was refused."""
        listing = DayListing()
        for day in days:
            try:
                files = self.files_for_day(day)
            except PathRefused as refused:
                listing.refused[day] = safe_text(refused)
                continue
            if files:
                listing.files[day] = files
        return listing

    @abstractmethod
    def delivered_at(self, day: date) -> float | None:
        """When the day's newest file was written (seconds since the epoch); None when it has none."""

    @abstractmethod
    def list_files(self) -> list[ListedFile]:
        """Every entry named `*.csv` in a `YYYY/MM/DD` folder of the sales landing, as one listing shows them."""

    @abstractmethod
    def open(self, path: str) -> Iterator[BinaryIO]:
        """A context manager streaming a listed file (a path as listed). Raises `PathRefused` for a path outside
        the root, a link or anything but a regular file, before a byte is read; `FileNotFoundError` when gone."""

    @abstractmethod
    def relative_path(self, relative: str) -> str:
        """The path (as listings show them) of a path relative to the landing root, checked by `checked_relative`."""

    def open_relative(self, relative: str) -> Iterator[BinaryIO]:
        """`open` for a path relative to the landing root."""
        return self.open(self.relative_path(relative))

    def read_small(self, relative: str, max_bytes: int) -> bytes | None:
        """A small file's content (a trigger); None when there is none; `InputTooLarge` past `max_bytes`."""
        try:
            with self.open_relative(relative) as handle:
                content = handle.read(max_bytes + 1)
        except FileNotFoundError:
            return None
        if len(content) > max_bytes:
            raise InputTooLarge(f"{safe_text(relative, 200)} is larger than {max_bytes} bytes")
        return content

    def checksum(self, path: str) -> str:
        """The SHA-256 of a file's content, streamed."""
        digest = hashlib.sha256()
        with self.open(path) as handle:
            for chunk in stream_chunks(handle):
                digest.update(chunk)
        return digest.hexdigest()

    @abstractmethod
    def quarantine(self, path: str) -> str:
        """Move a landing entry to the quarantine folder of its day (an earlier copy there is set aside, never
        replaced); returns its new path. The entry itself moves: a link is never followed."""

    @abstractmethod
    def quarantined_files(self) -> list[str]:
        """Every entry named `*.csv` in the quarantine's day folders, sorted (one listing)."""

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
        """The path (or `s3://` URI) of a path (or glob) relative to the landing root, for Spark and for messages."""

    @abstractmethod
    def move(self, relative: str, relative_target: str) -> str:
        """Move a file to another path relative to the landing root (an earlier copy at the target is set aside,
        never replaced); returns its new path."""

    @abstractmethod
    def stat(self, relative: str) -> ListedFile | None:
        """The entry at a path relative to the landing root as a listing shows it (a link not followed); None when
        there is none."""

    def links_under(self, relative: str) -> list[str]:
        """The symbolic links at any depth below a folder relative to the root, as relative paths (object stores
        have none). Spark's own listing would follow them, so a reader that hands Spark a glob moves them out
        first."""
        return []

    @abstractmethod
    def list_folder(
        self, relative: str, suffix: str, recursive: bool = False, start_after: str | None = None
    ) -> list[ListedFile]:
        """The entries in a folder relative to the landing root (directly in it, or at any depth when `recursive`)
        whose names end in `suffix`, sorted; with `start_after` (a path relative to the root) only those whose
        relative path sorts after it, without looking into folders that hold none."""


class LocalLandingZone(LandingZone):
    """A landing zone in a local folder, walked without following a link below its root."""

    root: str

    def _root(self) -> str:
        return str(Path(self.root).resolve())

    def relative_path(self, relative: str) -> str:
        """The absolute local path."""
        return f"{self._root()}/{checked_relative(relative)}"

    def full_path(self, relative: str) -> str:
        """The absolute local path (a glob's pattern kept)."""
        return f"{self._root()}/{relative}"

    def _relative(self, path: str) -> str:
        """The checked path below the root of an absolute path this zone listed."""
        root = self._root()
        if not path.startswith(root + "/"):
            raise PathRefused(f"{safe_text(path, 200)} is outside the landing root")
        return checked_relative(path[len(root) + 1 :])

    def _folder(self, parts: list[str], create: bool = False) -> int:
        """A file descriptor of the folder `parts` below the root, every part opened without following a link."""
        folder = os.open(self._root(), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            for index, part in enumerate(parts):
                flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
                try:
                    inner = os.open(part, flags, dir_fd=folder)
                except FileNotFoundError:
                    if not create:
                        raise
                    try:
                        os.mkdir(part, dir_fd=folder)
                    except FileExistsError:
                        pass
                    inner = os.open(part, flags, dir_fd=folder)
                except OSError as error:
                    if error.errno in (errno.ELOOP, errno.ENOTDIR):
                        where = "/".join(parts[: index + 1])
                        raise PathRefused(f"{safe_text(where, 200)} is a link or not a folder") from None
                    raise
                os.close(folder)
                folder = inner
            return folder
        except BaseException:
            os.close(folder)
            raise

    @contextmanager
    def open(self, path: str) -> Iterator[BinaryIO]:
        """Open a regular file below the root: no link followed on the way or at the end, no device opened."""
        relative = self._relative(path)
        *parents, name = relative.split("/")
        folder = self._folder(parents)
        try:
            descriptor = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=folder)
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise PathRefused(f"{safe_text(relative, 200)} is a symbolic link; links are never followed") from None
            raise
        finally:
            os.close(folder)
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            os.close(descriptor)
            raise PathRefused(f"{safe_text(relative, 200)} is not a regular file (a folder, pipe or device)")
        with os.fdopen(descriptor, "rb") as handle:
            yield handle

    def _entries(self, relative: str) -> list[tuple[str, os.stat_result]]:
        """The names and `lstat`s of a folder's entries below the root, sorted (none when it does not exist)."""
        try:
            folder = self._folder(relative.split("/") if relative else [])
        except FileNotFoundError:
            return []
        try:
            entries = []
            for name in sorted(os.listdir(folder)):
                try:
                    entries.append((name, os.stat(name, dir_fd=folder, follow_symlinks=False)))
                except FileNotFoundError:
                    continue  # gone since the listing
            return entries
        finally:
            os.close(folder)

    def _listed(self, relative: str, status: os.stat_result) -> ListedFile:
        return ListedFile(
            f"{self._root()}/{relative}",
            f"{status.st_size}:{status.st_mtime_ns}:{status.st_ino}",
            status.st_mtime_ns / 1e9,
            stat.S_ISREG(status.st_mode),
        )

    def _walk(
        self, relative: str, depth: int, suffix: str, start_after: str | None, exact: bool = False
    ) -> Iterator[ListedFile]:
        """Entries ending in `suffix` below `relative`: exactly `depth` folders down when `exact`, else at any depth
        up to `depth`."""
        for name, status in self._entries(relative):
            path = f"{relative}/{name}" if relative else name
            if stat.S_ISDIR(status.st_mode) and depth > 0:
                if start_after is None or start_after.startswith(path + "/") or path + "/" > start_after:
                    yield from self._walk(path, depth - 1, suffix, start_after, exact)
            if (not exact or depth == 0) and name.endswith(suffix):
                if start_after is None or path > start_after:
                    yield self._listed(path, status)

    def files_for_day(self, day: date) -> list[str]:
        """The day's entries named `*.csv`, sorted."""
        folder = day_folder(day)
        try:
            return [listed.path for listed in self._walk(folder, 0, ".csv", None, exact=True)]
        except PathRefused as refused:
            raise PathRefused(f"the landing folder {folder}: {refused}") from None

    def delivered_at(self, day: date) -> float | None:
        """The newest modification time of the day's regular files."""
        try:
            listed = list(self._walk(day_folder(day), 0, ".csv", None, exact=True))
        except PathRefused:
            return None
        return max((file.modified for file in listed if file.regular), default=None)

    def list_files(self) -> list[ListedFile]:
        """Every `*.csv` entry in a `YYYY/MM/DD` folder under the landing prefix, stamped with size and mtime."""
        return [
            listed for listed in self._walk(LANDING_PREFIX, 3, ".csv", None, exact=True) if landing_day(listed.path)
        ]

    def quarantined_files(self) -> list[str]:
        """Every `*.csv` entry in a `YYYY/MM/DD` folder of the quarantine, sorted."""
        return [
            listed.path
            for listed in self._walk(QUARANTINE_PREFIX, 3, ".csv", None, exact=True)
            if landing_day(listed.path)
        ]

    def list_folder(
        self, relative: str, suffix: str, recursive: bool = False, start_after: str | None = None
    ) -> list[ListedFile]:
        """The folder's entries ending in `suffix`, stamped with size and mtime (see `LandingZone.list_folder`)."""
        folder = checked_relative(relative.rstrip("/"))
        return list(self._walk(folder, MAX_FOLDER_DEPTH if recursive else 0, suffix, start_after, exact=not recursive))

    def links_under(self, relative: str, depth: int = MAX_FOLDER_DEPTH) -> list[str]:
        """The symbolic links below the folder (at most `depth` folders down), found without following any."""
        found = []
        folder = checked_relative(relative.rstrip("/"))
        for name, status in self._entries(folder):
            path = f"{folder}/{name}"
            if stat.S_ISLNK(status.st_mode):
                found.append(path)
            elif stat.S_ISDIR(status.st_mode) and depth > 0:
                found.extend(self.links_under(path, depth - 1))
        return found

    def stat(self, relative: str) -> ListedFile | None:
        """The entry's stamp, a link not followed."""
        *parents, name = checked_relative(relative).split("/")
        try:
            folder = self._folder(parents)
        except FileNotFoundError:
            return None
        try:
            status = os.stat(name, dir_fd=folder, follow_symlinks=False)
        except FileNotFoundError:
            return None
        finally:
            os.close(folder)
        return self._listed(checked_relative(relative), status)

    def _rename(self, relative: str, relative_target: str) -> str:
        """One rename below the root (the target's folder made first, an entry at the target set aside)."""
        *source_parents, source_name = checked_relative(relative).split("/")
        *target_parents, target_name = checked_relative(relative_target).split("/")
        source = self._folder(source_parents)
        try:
            target = self._folder(target_parents, create=True)
            try:
                _set_aside_local(target, target_name)
                os.rename(source_name, target_name, src_dir_fd=source, dst_dir_fd=target)
            finally:
                os.close(target)
        finally:
            os.close(source)
        return self.relative_path(relative_target)

    def quarantine(self, path: str) -> str:
        """Move the entry into its day's quarantine folder (one rename)."""
        relative = self._relative(path)
        target = f"{day_folder(landing_day(relative), QUARANTINE_PREFIX)}/{file_name(relative)}"
        return self._rename(relative, target)

    def move(self, relative: str, relative_target: str) -> str:
        """One rename (the target folder made first)."""
        return self._rename(relative, relative_target)

    def delete(self, path: str) -> None:
        """Delete the entry (gone already is fine); a link is removed, never its target."""
        *parents, name = self._relative(path).split("/")
        try:
            folder = self._folder(parents)
        except FileNotFoundError:
            return
        try:
            os.unlink(name, dir_fd=folder)
        except FileNotFoundError:
            pass
        finally:
            os.close(folder)


def _set_aside_local(folder: int, name: str) -> None:
    """Rename an entry at `name` in the folder to the first free `name.N`, so a move never replaces it."""
    try:
        os.stat(name, dir_fd=folder, follow_symlinks=False)
    except FileNotFoundError:
        return
    number = 1
    while True:
        try:
            os.stat(f"{name}.{number}", dir_fd=folder, follow_symlinks=False)
        except FileNotFoundError:
            os.rename(name, f"{name}.{number}", src_dir_fd=folder, dst_dir_fd=folder)
            return
        number += 1


class S3LandingZone(LandingZone):
    """A landing zone in an S3 bucket: `s3://<bucket>/<prefix>raw/ecommerce_sales/YYYY/MM/DD/*.csv`.

    Files are listed, streamed and moved through dagster-aws's S3 resource (boto3; credentials
    from the environment); Spark reads them itself at `s3a://` (hadoop-aws locally, the cluster's
    S3 connector on Databricks). Only keys under the prefix are touched.
    """

    s3: S3Resource
    bucket: str
    prefix: str = ""

    def _key(self, path: str) -> str:
        """The checked key of an `s3://` path of this zone."""
        base = f"s3://{self.bucket}/{self.prefix}"
        if not path.startswith(base):
            raise PathRefused(f"{safe_text(path, 200)} is outside the landing root {base}")
        return self.prefix + checked_relative(path[len(base) :])

    def relative_path(self, relative: str) -> str:
        """The object's `s3://` URI."""
        return f"s3://{self.bucket}/{self.prefix}{checked_relative(relative)}"

    def full_path(self, relative: str) -> str:
        """The object's `s3://` URI (a glob's pattern kept)."""
        return f"s3://{self.bucket}/{self.prefix}{relative}"

    def _objects(self, prefix: str, start_after: str | None = None) -> Iterator[dict]:
        """The listing's entries (key, size, ETag, last modified) of every object under the prefix."""
        client = self.s3.get_client()
        extra = {"StartAfter": start_after} if start_after else {}
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix, **extra):
            yield from page.get("Contents", [])

    def _listed(self, item: dict) -> ListedFile:
        return ListedFile(
            f"s3://{self.bucket}/{item['Key']}",
            f"{item['Size']}:{item['ETag']}:{item['LastModified'].isoformat()}",
            item["LastModified"].timestamp(),
        )

    def _day_objects(self, folder: str) -> list[dict]:
        prefix = f"{self.prefix}{folder}/"
        return [
            item
            for item in self._objects(prefix)
            if item["Key"].endswith(".csv") and "/" not in item["Key"][len(prefix) :]
        ]

    def files_for_day(self, day: date) -> list[str]:
        """The day's CSV objects as `s3://` paths, sorted."""
        return sorted(f"s3://{self.bucket}/{item['Key']}" for item in self._day_objects(day_folder(day)))

    def delivered_at(self, day: date) -> float | None:
        """The newest last-modified time among the day's objects (from one listing)."""
        return max((item["LastModified"].timestamp() for item in self._day_objects(day_folder(day))), default=None)

    @contextmanager
    def open(self, path: str) -> Iterator[BinaryIO]:
        """Stream the object's body."""
        key = self._key(path)
        try:
            body = self.s3.get_client().get_object(Bucket=self.bucket, Key=key)["Body"]
        except botocore.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise FileNotFoundError(path) from None
            raise
        try:
            yield body
        finally:
            body.close()

    def _copy_then_delete(self, key: str, target: str) -> None:
        client = self.s3.get_client()
        self._set_aside(target)
        client.copy_object(Bucket=self.bucket, Key=target, CopySource={"Bucket": self.bucket, "Key": key})
        client.delete_object(Bucket=self.bucket, Key=key)

    def _exists(self, key: str) -> bool:
        try:
            self.s3.get_client().head_object(Bucket=self.bucket, Key=key)
        except botocore.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return False
            raise
        return True

    def _set_aside(self, key: str) -> None:
        """Copy an object at `key` to the first free `key.N` and delete it, so a move never replaces it."""
        if not self._exists(key):
            return
        number = 1
        while self._exists(f"{key}.{number}"):
            number += 1
        self._copy_then_delete(key, f"{key}.{number}")

    def quarantine(self, path: str) -> str:
        """Copy the object into its day's quarantine folder, then delete it from the landing folder."""
        key = self._key(path)
        target = f"{self.prefix}{day_folder(landing_day(key), QUARANTINE_PREFIX)}/{file_name(key)}"
        self._copy_then_delete(key, target)
        return f"s3://{self.bucket}/{target}"

    def quarantined_files(self) -> list[str]:
        """Every CSV object in a `YYYY/MM/DD` folder of the quarantine, as `s3://` paths, sorted (one listing)."""
        keys = (item["Key"] for item in self._objects(f"{self.prefix}{QUARANTINE_PREFIX}/"))
        return sorted(f"s3://{self.bucket}/{key}" for key in keys if key.endswith(".csv") and landing_day(key))

    def delete(self, path: str) -> None:
        """Delete the object."""
        self.s3.get_client().delete_object(Bucket=self.bucket, Key=self._key(path))

    def list_files(self) -> list[ListedFile]:
        """Every CSV object in a `YYYY/MM/DD` folder under the landing prefix, stamped from the listing itself."""
        objects = self._objects(f"{self.prefix}{LANDING_PREFIX}/")
        return sorted(
            (self._listed(item) for item in objects if landing_day(item["Key"])), key=lambda listed: listed.path
        )

    def spark_path(self, path: str) -> str:
        """The object's `s3a://` URI."""
        return f"s3a://{self.bucket}/{self._key(path)}"

    def move(self, relative: str, relative_target: str) -> str:
        """Copy the object to the target key (an object there set aside first), then delete the original."""
        source, target = self.prefix + checked_relative(relative), self.prefix + checked_relative(relative_target)
        self._copy_then_delete(source, target)
        return f"s3://{self.bucket}/{target}"

    def stat(self, relative: str) -> ListedFile | None:
        """The object's stamp from a HEAD request."""
        key = self.prefix + checked_relative(relative)
        try:
            head = self.s3.get_client().head_object(Bucket=self.bucket, Key=key)
        except botocore.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return None
            raise
        return self._listed(
            {"Key": key, "Size": head["ContentLength"], "ETag": head["ETag"], "LastModified": head["LastModified"]}
        )

    def list_folder(
        self, relative: str, suffix: str, recursive: bool = False, start_after: str | None = None
    ) -> list[ListedFile]:
        """The folder's matching objects, stamped from the listing (S3's `StartAfter` skips the older keys)."""
        folder = f"{self.prefix}{checked_relative(relative.rstrip('/'))}/"
        after = f"{self.prefix}{start_after}" if start_after else None
        return sorted(
            (
                self._listed(item)
                for item in self._objects(folder, after)
                if item["Key"].endswith(suffix) and (recursive or "/" not in item["Key"][len(folder) :])
            ),
            key=lambda listed: listed.path,
        )
