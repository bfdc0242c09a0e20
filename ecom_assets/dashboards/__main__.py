"""`python -m ecom_assets.dashboards [--port N]`: the dashboards app on 127.0.0.1, with Streamlit's usage statistics
off and no file watching (`./dev.sh dashboards` runs it)."""

import argparse
import os
import sys
from pathlib import Path

APP = Path(__file__).with_name("app.py")
DEFAULT_PORT = 8501


def streamlit_command(port: int = DEFAULT_PORT) -> list[str]:
    """The command line serving the app on 127.0.0.1:`port`, headless, telling Streamlit's servers nothing."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "viewer",
        "--global.developmentMode",
        "false",
        "--theme.base",
        "light",
    ]


def main() -> None:
    """Replaces this process with the Streamlit server."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    command = streamlit_command(parser.parse_args().port)
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
