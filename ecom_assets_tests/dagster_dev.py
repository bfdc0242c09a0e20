"""Start `dagster dev` (webserver and daemon) on 127.0.0.1 for end-to-end tests, and talk GraphQL to it."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from ecom_assets.api_sources.standins import free_port

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def dagster_dev(work: Path, home: Path, startup_timeout: float = 120.0):
    """Run `dagster dev` with its instance in `home`, landing and warehouse under `work`; yields the base URL.

    The whole process group (webserver, daemon, code server, run workers) is stopped afterwards.
    """
    port = free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "ECOM_LANDING_ROOT": str(work / "data"),
        "ECOM_WAREHOUSE_ROOT": str(work / "data" / "warehouse"),
    }
    log = (work / "dagster_dev.log").open("wb")
    process = subprocess.Popen(
        [
            Path(sys.executable).parent / "dagster",
            "dev",
            "-w",
            str(PROJECT_ROOT / "workspace.yaml"),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(base_url, process, startup_timeout, log.name)
        yield base_url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def wait_until_answering(base_url: str, process: subprocess.Popen, timeout: float, log_name: str) -> None:
    """Wait until the webserver answers GraphQL; raise if its process exits first or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"dagster dev exited early; see {log_name}")
        try:
            graphql(base_url, "{ repositoriesOrError { __typename } }")
            return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"dagster dev did not answer within {timeout} s") from None
            time.sleep(1)


def graphql(base_url: str, query: str, variables: dict | None = None) -> dict:
    """POST a GraphQL query; returns `data`, raising on transport or GraphQL errors."""
    request = urllib.request.Request(
        f"{base_url}/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.loads(response.read())
    if body.get("errors"):
        raise RuntimeError(body["errors"])
    return body["data"]
