#!/usr/bin/env bash
# Everyday commands of the project. Needs Python 3.11+ and Java 17+; installs the rest into .venv.
#   ./dev.sh demo [START END]   generate sample data, materialize bronze→silver→gold, print gold
#   ./dev.sh test [PYTEST ARGS] run the test suite
#   ./dev.sh ui                 open the Dagster UI (webserver + daemon) on http://127.0.0.1:3000
#   ./dev.sh benchmark          time the real data set (needs ../shared/data/online-retail/by-day)
set -euo pipefail
cd "$(dirname "$0")"
VENV=.venv

require_java() {
  if ! command -v java >/dev/null 2>&1; then
    echo "Java 17 or newer is required (Debian/Ubuntu: apt-get install openjdk-17-jre-headless)." >&2
    exit 1
  fi
  local major
  major=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)
  if [ "${major:-0}" -lt 17 ]; then
    echo "Java ${major:-?} found; Spark 4 needs Java 17 or newer." >&2
    exit 1
  fi
}

ensure_env() {
  require_java
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  local stamp
  stamp="$VENV/.installed-$(cat pyproject.toml | sha256sum | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -e '.[test]'
    # Spark's classes as a JVM class-data archive: local runs start ~5 s faster (about 40 s, once)
    "$VENV/bin/ecom-spark-classes" || echo "No Spark class archive; local runs start without one." >&2
    touch "$stamp"
  fi
  export DAGSTER_HOME="${DAGSTER_HOME:-$PWD/.dagster_home}"
  mkdir -p "$DAGSTER_HOME"
  touch "$DAGSTER_HOME/dagster.yaml"
}

command=${1:-}
[ $# -gt 0 ] && shift
case "$command" in
  demo)
    ensure_env
    start=${1:-2011-01-01}
    end=${2:-2011-01-31}
    "$VENV/bin/ecom-sample" generate --start "$start" --end "$end" --landing-root "${ECOM_LANDING_ROOT:-data}"
    "$VENV/bin/dagster" asset materialize -m ecom_assets.definitions --select '*' \
      --partition-range "$start...$end" 2>&1 | grep -E "RUN_SUCCESS|RUN_FAILURE|STEP_FAILURE|STEP_SUCCESS|Error" || true
    "$VENV/bin/python" -m ecom_assets.show ecommerce_catalog.analytics.sales_metrics
    echo "Open the UI with: ./dev.sh ui   (then http://127.0.0.1:3000)"
    ;;
  test)
    ensure_env
    exec "$VENV/bin/python" -m pytest "$@"
    ;;
  ui)
    ensure_env
    exec "$VENV/bin/dagster" dev -w workspace.yaml -h 127.0.0.1 -p "${ECOM_UI_PORT:-3000}"
    ;;
  benchmark)
    ensure_env
    exec "$VENV/bin/python" benchmarks/benchmark.py "$@"
    ;;
  *)
    sed -n '2,7p' "$0"
    exit 2
    ;;
esac
