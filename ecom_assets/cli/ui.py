"""Run `dagster dev` (webserver, daemon, code server) so that stopping it stops every process it started.

    python -m ecom_assets.cli.ui [dagster dev options]      (`./dev.sh ui`)

`dagster dev` runs in a session of its own. On Ctrl-C (SIGINT) or SIGTERM this supervisor asks it
to shut down, gives it `GRACE_SECONDS`, then terminates whatever of its process tree is still
alive (a run worker, a Spark JVM, a code server), so nothing keeps a port or the instance busy.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

GRACE_SECONDS = 20.0


def process_tree(root: int) -> set[int]:
    """The pids of a process's descendants (not the process), read from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(parent, []).append(int(stat.parent.name))
    found, frontier = set(), [root]
    while frontier:
        for child in children.get(frontier.pop(), []):
            if child not in found:
                found.add(child)
                frontier.append(child)
    return found


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def stop(process: subprocess.Popen, grace_seconds: float = GRACE_SECONDS) -> None:
    """Ask `dagster dev` to shut down, then terminate (and at last kill) what is left of its tree and session."""
    tree = process_tree(process.pid)
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=grace_seconds)
        except subprocess.TimeoutExpired:
            pass
    for kill_signal in (signal.SIGTERM, signal.SIGKILL):
        left = {pid for pid in tree | process_tree(process.pid) | {process.pid} if alive(pid)}
        if not left:
            break
        for pid in left:
            try:
                os.kill(pid, kill_signal)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 5
        while any(alive(pid) for pid in left) and time.monotonic() < deadline:
            time.sleep(0.1)
    if process.poll() is None:
        process.wait()


def main(argv: list[str] | None = None) -> None:
    """Command line: run `dagster dev` with the given options until Ctrl-C or SIGTERM, then stop it whole."""
    dagster = Path(sys.executable).parent / "dagster"
    process = subprocess.Popen([str(dagster), "dev", *(sys.argv[1:] if argv is None else argv)], start_new_session=True)

    def interrupt(signum: int, _frame) -> None:
        raise _Stopping(signal.Signals(signum).name)

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    try:
        code = process.wait()
    except _Stopping as stopping:  # not stopped inside the handler: it would re-enter the interrupted wait
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print(f"\nStopping dagster dev ({stopping}) and every process it started ...", flush=True)
        stop(process)
        print("Stopped; nothing left running.", flush=True)
        sys.exit(0)
    stop(process)
    sys.exit(code)


class _Stopping(Exception):
    """Ctrl-C or SIGTERM arrived: the supervisor stops `dagster dev` and its processes."""


if __name__ == "__main__":
    main()
