"""Shopify's GraphQL Admin API schema, as Shopify publishes it, for the Shopify stand-in.

No Admin API mock is published; Shopify's `@shopify/dev-mcp` npm package ships the Admin API's
introspection (`dist/data/admin_<version>.json.gz`). It is fetched once, at install
(`ecom-shopify-schema`, which `dev.sh` runs), from the npm registry over HTTPS, checked against
the SHA-256 pinned below, and kept in the virtualenv; no Node.js is needed.

    ecom-shopify-schema
"""

import gzip
import hashlib
import io
import json
import sys
import tarfile
import urllib.request
from pathlib import Path

from resources.settings import SHOPIFY_API_VERSION

API_VERSION = SHOPIFY_API_VERSION
"""The Admin API version the stand-in serves: the one the settings pin."""
PACKAGE_URL = "https://registry.npmjs.org/@shopify/dev-mcp/-/dev-mcp-1.16.0.tgz"
PACKAGE_SHA256 = "4663c79229028e98f825a09d5f04ec6c3736331b740ce50260f9ffac10709474"
SCHEMA_MEMBER = f"package/dist/data/admin_{API_VERSION}.json.gz"
SCHEMA_SHA256 = "f3b522f264556925eada700e795e4a002a9cba83444ebcc6c0d724254a0c6593"


def schema_path() -> Path:
    """Where the introspection is kept: inside the running Python's environment (the project's `.venv`)."""
    return Path(sys.prefix) / "share" / "ecom" / f"shopify-admin-{API_VERSION}.json.gz"


def fetch_schema(target: Path | None = None) -> Path:
    """The introspection file, fetched and checked when it is not there yet; returns its path."""
    target = target or schema_path()
    if target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == SCHEMA_SHA256:
        return target
    with urllib.request.urlopen(PACKAGE_URL, timeout=120) as answer:  # noqa: S310 - a pinned https URL
        package = answer.read()
    if hashlib.sha256(package).hexdigest() != PACKAGE_SHA256:
        raise RuntimeError(f"{PACKAGE_URL} does not have the pinned SHA-256; refusing it")
    with tarfile.open(fileobj=io.BytesIO(package), mode="r:gz") as archive:
        member = archive.extractfile(SCHEMA_MEMBER)
        content = member.read() if member else b""
    if hashlib.sha256(content).hexdigest() != SCHEMA_SHA256:
        raise RuntimeError(f"{SCHEMA_MEMBER} in {PACKAGE_URL} does not have the pinned SHA-256")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    partial.write_bytes(content)
    partial.replace(target)
    return target


def introspection() -> dict:
    """The schema's introspection result (`{"__schema": ...}`), from the fetched file."""
    path = schema_path()
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run ecom-shopify-schema (dev.sh does at install)")
    return json.loads(gzip.decompress(path.read_bytes()))["data"]


def main() -> None:
    """Command line: make sure the pinned schema is present."""
    path = fetch_schema()
    print(f"Shopify Admin API {API_VERSION} schema ready in {path}")


if __name__ == "__main__":
    main()
