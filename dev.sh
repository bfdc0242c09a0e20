#!/usr/bin/env bash
# Everyday commands of the project. Needs Python 3.11+ and Java 17+; installs the rest into .venv.
#   ./dev.sh demo [--clean] [--clickstream] [--api] [START END]   the last 4 weeks of sample data with planted
#                                         faults (--clean: none), every daily asset materialized, the verdict;
#                                         --clickstream: also the last day's web-shop events, hours and day;
#                                         --api: also a shop sent to Shopify and Stripe stand-ins, pulled, reconciled
#   ./dev.sh materialize DAY [SELECTION]  materialize a day (default: every daily asset) and say what the run did
#   ./dev.sh backfill START END [SELECTION]  the same for a range of days, as one run
#   ./dev.sh test [--quick] [PYTEST ARGS] run the test suite (--quick: the quick tier, tests not marked slow)
#   ./dev.sh ui                           the Dagster UI (webserver + daemon) on http://127.0.0.1:3000
#   ./dev.sh dashboards                   the dashboards (revenue, inventory, customers, funnel, data health) on
#                                         http://127.0.0.1:8501
#   ./dev.sh benchmark                    time the real data set (needs ../shared/data/online-retail/by-day)
# Every command uses the project's Dagster instance (DAGSTER_HOME=.dagster_home), so its runs are in the UI.
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
    # setuptools warns on every editable install that a same-named folder could shadow the package: it is the package
    step "Installing Dagster, PySpark, Delta Lake and the test tools into $VENV (about 2 min the first time)" \
      env PYTHONWARNINGS="ignore:Editable installation" "$VENV/bin/python" -m pip install --quiet -e '.[test]'
    step "Fetching the Delta Lake and S3 jars from Maven Central into $VENV (about 700 MB, once)" \
      "$VENV/bin/ecom-spark-jars"
    step "Fetching Shopify's Admin API schema from the npm registry, for the Shopify stand-in (1 MB, once)" \
      "$VENV/bin/ecom-shopify-schema"
    # Spark's classes as a JVM class-data archive: local runs start a few seconds faster
    step "Writing the Spark class archive (about a minute, once)" \
      sh -c "'$VENV/bin/ecom-spark-classes' || echo 'No Spark class archive; local runs start without one.' >&2"
    touch "$stamp"
  fi
  # the known framework warnings, silenced even where the Dagster CLI raises them before loading the project
  PYTHONWARNINGS="$("$VENV/bin/python" -c 'from ecom_assets.platform.framework_warnings import pythonwarnings as p; print(p())')${PYTHONWARNINGS:+,$PYTHONWARNINGS}"
  export PYTHONWARNINGS
  export DAGSTER_HOME="${DAGSTER_HOME:-$PWD/.dagster_home}"
  mkdir -p "$DAGSTER_HOME"
  touch "$DAGSTER_HOME/dagster.yaml"
}

# Every asset of the sales pipeline and the feeds: the daily-partitioned ones ('*' would add the clickstream's
# hourly assets, whose partitions a day's key does not name).
DAILY_ASSETS='not (group:clickstream_ingest or group:clickstream or group:clickstream_daily or group:stripe_api or group:stripe or group:shopify_api or group:shopify or group:payments)'

# Materialize a selection (first argument) for the partition options that follow as one run, showing the
# steps as they finish; then print what the run did and exit 1 unless it succeeded with every blocking check.
materialize() {
  local selection=$1 started log status verdict
  shift
  mkdir -p "${ECOM_OUTPUT_ROOT:-output}/logs"
  log="${ECOM_OUTPUT_ROOT:-output}/logs/run-$(date -u +%Y%m%dT%H%M%SZ)-$$.log"
  started=$(date +%s.%N)
  echo "==> Materializing '$selection' $* (the whole log: $log)" >&2
  set +e
  "$VENV/bin/dagster" asset materialize -m ecom_assets.definitions --select "$selection" "$@" 2>&1 \
    | tee "$log" | sed -nu -E 's/.* - (STEP_SUCCESS|STEP_FAILURE) - (.*)$/    \2/p'
  status=${PIPESTATUS[0]}
  "$VENV/bin/python" -m ecom_assets.cli.run_summary --started-after "$started" --command-status "$status" --log "$log"
  verdict=$?
  set -e
  return "$verdict"
}

# The demo's API part: both stand-ins on loopback (an empty Shopify shop, a Stripe account), a shop's products,
# customers, orders and payments sent through their APIs with planted faults, both sources pulled, payments reconciled.
demo_api() {
  local env_file status=0
  env_file=$(mktemp)
  "$VENV/bin/python" -m ecom_assets.api_sources.standins "$env_file" &
  local standins=$!
  trap 'kill $standins 2>/dev/null; rm -f "$env_file"' EXIT
  until [ -s "$env_file" ]; do
    kill -0 "$standins" 2>/dev/null || { echo "The API stand-ins did not start." >&2; return 1; }
    sleep 0.5
  done
  # shellcheck disable=SC1090  # the stand-ins' addresses and the demo's fresh secrets
  . "$env_file"
  step "Sending a shop's products, customers, orders, payments and refunds to the Shopify and Stripe stand-ins" \
    "$VENV/bin/ecom-sample" api --orders 20
  materialize 'group:shopify_api or group:shopify or group:stripe_api or group:stripe or group:payments' || status=$?
  echo "Payments reconciled with orders (status and unmatched amount per order and orphan charge):"
  "$VENV/bin/python" -m ecom_assets.cli.show ecommerce_catalog.analytics.payment_reconciliation --limit 30 || true
  kill "$standins" 2>/dev/null
  wait "$standins" 2>/dev/null || true
  rm -f "$env_file"
  trap - EXIT
  return "$status"
}

command=${1:-}
[ $# -gt 0 ] && shift
case "$command" in
  demo)
    ensure_env
    faults=--faults
    clickstream=""
    api=""
    while [ "${1:-}" = "--clean" ] || [ "${1:-}" = "--clickstream" ] || [ "${1:-}" = "--api" ]; do
      [ "$1" = "--clean" ] && faults=""
      [ "$1" = "--clickstream" ] && clickstream=yes
      [ "$1" = "--api" ] && api=yes
      shift
    done
    # by default the last four weeks up to yesterday: the UI plots per day over recent partitions
    read -r last_four_weeks yesterday < <("$VENV/bin/python" -c \
      'from datetime import UTC, datetime, timedelta; y = datetime.now(UTC).date() - timedelta(days=1); print(y - timedelta(days=27), y)')
    start=${1:-$last_four_weeks}
    end=${2:-$yesterday}
    step "Generating sample landing files and operational feeds for $start .. $end${faults:+, with planted faults (--clean: none)}" \
      "$VENV/bin/ecom-sample" generate --start "$start" --end "$end" --landing-root "${ECOM_LANDING_ROOT:-data}" \
      --replace --feeds $faults
    verdict=0
    materialize "$DAILY_ASSETS" --partition-range "$start...$end" || verdict=$?
    if [ -n "$clickstream" ]; then
      step "Generating the web shop's clickstream of $end${faults:+, with planted faults}" \
        "$VENV/bin/ecom-sample" clickstream --start "$end" --end "$end" --landing-root "${ECOM_LANDING_ROOT:-data}" $faults
      materialize 'group:clickstream_ingest' || verdict=$?
      materialize 'group:clickstream' --partition-range "$end-00:00...$end-23:00" || verdict=$?
      materialize 'group:clickstream_daily' --partition "$end" || verdict=$?
    fi
    if [ -n "$api" ]; then
      demo_api || verdict=$?
    fi
    echo "Gold as stored (day_status tells a complete day from one that is not):"
    "$VENV/bin/python" -m ecom_assets.cli.show ecommerce_catalog.analytics.sales_metrics --limit 10 || true
    echo "Dashboards over these tables: ./dev.sh dashboards, then http://127.0.0.1:${ECOM_DASHBOARDS_PORT:-8501}"
    if [ "$verdict" -ne 0 ]; then
      echo "The run did NOT pass (exit status $verdict): what failed, what was kept out and where to look are listed above."
      [ -z "$faults" ] || echo "Those faults were planted by the demo's sample data; ./dev.sh demo --clean runs without them."
    fi
    exit "$verdict"
    ;;
  materialize)
    [ $# -ge 1 ] || { echo "usage: ./dev.sh materialize DAY [SELECTION]" >&2; exit 2; }
    ensure_env
    materialize "${2:-$DAILY_ASSETS}" --partition "$1"
    ;;
  backfill)
    [ $# -ge 2 ] || { echo "usage: ./dev.sh backfill START END [SELECTION]" >&2; exit 2; }
    ensure_env
    materialize "${3:-$DAILY_ASSETS}" --partition-range "$1...$2"
    ;;
  test)
    ensure_env
    runtime_spark=$("$VENV/bin/python" -c 'from resources.settings import DATABRICKS_RUNTIME_SPARK as v; print(v)')
    overlay="$VENV/share/ecom-assets/pyspark-$runtime_spark"
    if [ "${1:-}" = "--quick" ]; then
      shift
      exec "$VENV/bin/python" -m pytest -m "not slow" "$@"
    fi
    [ -d "$overlay/pyspark" ] || step "Installing PySpark $runtime_spark (the default Databricks runtime's Spark) for the parity test" \
      "$VENV/bin/python" -m pip install --quiet --no-warn-conflicts --target "$overlay" "pyspark==$runtime_spark"
    exec "$VENV/bin/python" -m pytest "$@"
    ;;
  ui)
    ensure_env
    exec "$VENV/bin/python" -m ecom_assets.cli.ui -w workspace.yaml -h 127.0.0.1 -p "${ECOM_UI_PORT:-3000}"
    ;;
  dashboards)
    ensure_env
    exec "$VENV/bin/python" -m ecom_assets.dashboards --port "${ECOM_DASHBOARDS_PORT:-8501}"
    ;;
  benchmark)
    ensure_env
    exec "$VENV/bin/python" -m benchmarks.benchmark "$@"
    ;;
  *)
    sed -n '2,13p' "$0"
    exit 2
    ;;
esac
