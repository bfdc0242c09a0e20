"""Servers that speak the APIs the sources pull, for tests, the benchmark and the demo: bound to 127.0.0.1 only."""

import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager


def free_port() -> int:
    """A TCP port nothing listens on right now, on loopback."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def loopback_server(
    command: list, port: int, env: Mapping[str, str] | None = None, startup_seconds: float = 60.0
) -> Iterator[str]:
    """A server `command` started in its own process; yields its URL once it accepts connections on the loopback
    `port` (failing if it dies or takes longer than `startup_seconds`), and stops it afterwards."""
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        deadline = time.monotonic() + startup_seconds
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{command[0]} did not start on port {port}") from None
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def running_server(module: str, *arguments: str) -> AbstractContextManager[str]:
    """`python -m <module> --port <free port> <arguments>` (see `loopback_server`)."""
    port = free_port()
    return loopback_server([sys.executable, "-m", module, "--port", str(port), *arguments], port)
