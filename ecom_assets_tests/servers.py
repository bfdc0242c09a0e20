"""Real servers the tests (and the benchmark) start on 127.0.0.1 and stop afterwards: moto's S3 (and DynamoDB)
server, and PostgreSQL for the Dagster instance's storage."""

import glob
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import psycopg2

from ecom_assets.api_sources.standins import free_port, loopback_server

TEST_AWS_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
}
"""Credentials moto accepts; the tests put them in the environment, where boto3, hadoop-aws and delta-rs look."""


@contextmanager
def moto_server() -> Iterator[str]:
    """moto's AWS server in its own process on a free loopback port; yields its URL and stops it afterwards."""
    port = free_port()
    command = [Path(sys.executable).parent / "moto_server", "-H", "127.0.0.1", "-p", str(port)]
    with loopback_server(command, port, env={**os.environ, **TEST_AWS_ENVIRONMENT}) as url:
        yield url


POSTGRES_USER = "dagster"


def postgres_program(name: str) -> str | None:
    """The path of a PostgreSQL server program (`initdb`, `pg_ctl`): on the PATH, or where Debian installs it."""
    return shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)


def _required_program(name: str) -> str:
    """`postgres_program(name)`, or an error saying how to install it."""
    found = postgres_program(name)
    if found is None:
        raise RuntimeError(
            f"PostgreSQL's {name} was not found: install PostgreSQL (Debian: apt-get install postgresql)"
        )
    return found


def _as_server_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run the command as Debian's `postgres` user."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


SERVER_LOGS: dict[str, Path] = {}
"""The log file of each running test server, by its port."""


@contextmanager
def postgres_server() -> Iterator[dict[str, str]]:
    """A fresh PostgreSQL cluster listening on a free loopback port only, with a password-protected user and
    database for Dagster; yields the environment variables `instance/postgres.yaml` reads, stops it and
    deletes its files afterwards."""
    root = Path(tempfile.mkdtemp(prefix="ecom-postgres-"))
    password = secrets.token_hex(16)
    (root / "password").write_text(password)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        shutil.chown(root / "password", "postgres", "postgres")
    data = root / "data"
    port = free_port()
    subprocess.run(
        _as_server_user(
            [
                _required_program("initdb"),
                "--pgdata",
                str(data),
                "--username",
                POSTGRES_USER,
                "--pwfile",
                str(root / "password"),
                "--auth",
                "scram-sha-256",
                "--encoding",
                "UTF8",
                "--no-sync",
            ]
        ),
        check=True,
        capture_output=True,
    )
    settings = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={root}"
    pg_ctl = _required_program("pg_ctl")
    subprocess.run(
        _as_server_user(
            [pg_ctl, "--pgdata", str(data), "--log", str(root / "server.log"), "-o", settings, "-w", "start"]
        ),
        check=True,
        capture_output=True,
    )
    SERVER_LOGS[str(port)] = root / "server.log"
    try:
        environment = {
            "DAGSTER_PG_HOST": "127.0.0.1",
            "DAGSTER_PG_PORT": str(port),
            "DAGSTER_PG_USERNAME": POSTGRES_USER,
            "DAGSTER_PG_PASSWORD": password,
            "DAGSTER_PG_DB": "postgres",
        }
        yield environment
    finally:
        subprocess.run(
            _as_server_user([pg_ctl, "--pgdata", str(data), "-m", "fast", "-w", "stop"]), capture_output=True
        )
        shutil.rmtree(root, ignore_errors=True)


def postgres_connection(credentials: Mapping[str, str]) -> "psycopg2.extensions.connection":
    """A connection to the database of `postgres_server`, with the credentials it yielded."""
    return psycopg2.connect(
        host=credentials["DAGSTER_PG_HOST"],
        port=credentials["DAGSTER_PG_PORT"],
        user=credentials["DAGSTER_PG_USERNAME"],
        password=credentials["DAGSTER_PG_PASSWORD"],
        dbname=credentials["DAGSTER_PG_DB"],
    )
