"""`python -m ecom_assets.dashboards [--port N]`: the dashboards app on 127.0.0.1, with Streamlit's usage statistics
off and no file watching (`./dev.sh dashboards` runs it).

The server runs in this process after the pages' code is imported, so the first visitor does not wait for the
imports (about 2.5 s: the table names come with the areas' modules)."""

import argparse
from pathlib import Path

APP = Path(__file__).with_name("app.py")
DEFAULT_PORT = 8501


def streamlit_arguments(port: int = DEFAULT_PORT) -> list[str]:
    """`streamlit run` serving the app on 127.0.0.1:`port`, headless, telling Streamlit's servers nothing."""
    options = {
        "server.address": "127.0.0.1",
        "server.port": str(port),
        "server.headless": "true",
        "server.fileWatcherType": "none",
        "browser.gatherUsageStats": "false",
        "client.toolbarMode": "viewer",
        "global.developmentMode": "false",
        "theme.base": "light",
    }
    return ["run", str(APP), *(part for name, value in options.items() for part in (f"--{name}", value))]


def main() -> None:
    """Imports the pages and their readers, then serves the app until stopped."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    arguments = streamlit_arguments(parser.parse_args().port)
    import deltalake  # noqa: F401
    import duckdb  # noqa: F401  (imported here so that the first page view does not wait for them)
    from streamlit.web import cli

    from ecom_assets.dashboards.views import customers, data_health, funnel, inventory, revenue  # noqa: F401

    cli.main(args=arguments, prog_name="streamlit")


if __name__ == "__main__":
    main()
