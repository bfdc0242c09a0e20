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

# Run one set-up step, saying what it does before and how long it took after.
step() {
  local label=$1 started=$SECONDS
  shift
  echo "==> $label" >&2
  "$@"
  echo "    done in $((SECONDS - started)) s" >&2
}

ensure_env() {
  require_java
  [ -x "$VENV/bin/python" ] || step "Creating the virtualenv $VENV" python3 -m venv "$VENV"
  local stamp
  stamp="$VENV/.installed-$(cat pyproject.toml resources/spark_jars.py resources/jvm/*.java | sha256sum | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    step "Upgrading pip" "$VENV/bin/python" -m pip install --quiet --upgrade pip
    step "Installing Dagster, PySpark, Delta Lake and the test tools into $VENV (about 2 min the first time)" \
      "$VENV/bin/python" -m pip install --quiet -e '.[test]'
    step "Fetching the Delta Lake and S3 jars from Maven Central into $VENV (about 700 MB, once)" \
      "$VENV/bin/ecom-spark-jars"
    # Spark's classes as a JVM class-data archive: local runs start a few seconds faster
    step "Writing the Spark class archive (about a minute, once)" \
      sh -c "'$VENV/bin/ecom-spark-classes' || echo 'No Spark class archive; local runs start without one.' >&2"
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
    runtime_spark=$("$VENV/bin/python" -c 'from resources.settings import DATABRICKS_RUNTIME_SPARK as v; print(v)')
    overlay="$VENV/share/ecom-assets/pyspark-$runtime_spark"
    [ -d "$overlay/pyspark" ] || step "Installing PySpark $runtime_spark (the default Databricks runtime's Spark) for the parity test" \
      "$VENV/bin/python" -m pip install --quiet --target "$overlay" "pyspark==$runtime_spark"
    exec "$VENV/bin/python" -m pytest "$@"
    ;;
  ui)
    ensure_env
    exec "$VENV/bin/dagster" dev -w workspace.yaml -h 127.0.0.1 -p "${ECOM_UI_PORT:-3000}"
    ;;
  benchmark)
    ensure_env
    exec "$VENV/bin/python" -m benchmarks.benchmark "$@"
    ;;
  *)
    sed -n '2,7p' "$0"
    exit 2
    ;;
esac
