"""The benchmark's per-step figures: read from a run's log, and judged on their median over runs."""

import os
import re
import sys

import pytest

from benchmarks.benchmark import (
    Command,
    DagsterRun,
    EventLogCost,
    GraphGrowth,
    Measurement,
    guarantees_cost,
    main,
    measure,
    measure_in_turns,
    per_step_medians,
    print_graph_growth,
    run_once,
    step_and_check_seconds,
)

RUN_LOG = """
... STEP_SUCCESS - Finished execution of step "ecommerce_catalog__processed__dim_products" in 19.25s.
... checks of ecommerce_catalog.processed.dim_products computed in 2.50 s (3 evaluation(s))
... STEP_SUCCESS - Finished execution of step "ecommerce_catalog__raw__order_transactions" in 1m5s.
... STEP_SUCCESS - Finished execution of step "ecommerce_catalog__analytics__shipping_performance" in 570ms.
"""


def test_the_run_log_gives_each_steps_time_and_its_check_time_in_seconds():
    steps, checks = step_and_check_seconds(RUN_LOG)

    assert steps == pytest.approx(
        {"processed.dim_products": 19.25, "raw.order_transactions": 65.0, "analytics.shipping_performance": 0.57}
    )
    assert checks == {"processed.dim_products": 2.5}


def test_the_core_figures_say_what_the_checks_and_the_stored_events_cost_against_the_minimal_script():
    backfill = DagsterRun(
        Measurement("backfill", 60.0, 2000.0, check_seconds={"raw.order_transactions": 7.0, "processed.orders": 3.0}),
        EventLogCost({"ASSET_CHECK_EVALUATION": 4000, "ASSET_MATERIALIZATION": 1000}, 2.0, 1.0),
    )

    said = guarantees_cost(backfill, Measurement("minimal", 25.0, 1500.0))

    assert "computing the checks took 10.0 s" in said
    assert "storing the run's events (4,000 ASSET_CHECK_EVALUATION, 1,000 ASSET_MATERIALIZATION, 0 other) 6.0 s" in said
    assert "the rest, 44.0 s, is 1.76x the minimal script" in said


def test_a_steps_time_is_its_median_over_the_runs_so_one_slow_run_does_not_decide_its_growth():
    runs = [
        Measurement("day", 150.0, 4000.0, {"processed.dim_products": 9.0, "processed.product_updates": 4.0}),
        Measurement("day", 160.0, 4000.0, {"processed.dim_products": 19.0, "processed.product_updates": 4.5}),
        Measurement("day", 155.0, 4000.0, {"processed.dim_products": 8.0}),
    ]

    assert per_step_medians(runs) == {"processed.dim_products": 9.0, "processed.product_updates": 4.25}


def test_a_measured_command_keeps_its_steps_check_times_and_spark_start_each_in_its_own_field(tmp_path):
    printing = f"print({RUN_LOG + 'spark_start=4.50'!r})"

    measured = run_once("log", [sys.executable, "-c", printing], dict(os.environ), tmp_path)

    assert measured.step_seconds == pytest.approx(
        {"processed.dim_products": 19.25, "raw.order_transactions": 65.0, "analytics.shipping_performance": 0.57}
    )
    assert measured.step_median_seconds == pytest.approx(
        {"processed.dim_products": 19.25, "raw.order_transactions": 65.0, "analytics.shipping_performance": 0.57}
    ), "one run: each step's median is its own time"
    assert measured.check_seconds == {"processed.dim_products": 2.5}
    assert measured.spark_start_seconds == 4.5


def test_a_measurement_keeps_every_runs_time_in_order_beside_the_median(tmp_path):
    measured = measure("python", [sys.executable, "-c", "pass"], dict(os.environ), tmp_path, repeat=3)

    assert len(measured.run_seconds) == 3
    assert measured.seconds in measured.run_seconds
    assert (
        sum(run < measured.seconds for run in measured.run_seconds)
        <= 1
        >= sum(run > measured.seconds for run in measured.run_seconds)
    ), "the median: at most one run on either side"


def test_a_measurement_prints_every_runs_time_in_the_order_they_ran():
    measured = Measurement("plain", 2.26, 100.0, run_seconds=(3.04, 1.0, 2.26))

    assert measured.runs_text() == "3.0, 1.0, 2.3"


def test_the_daily_cost_table_judges_the_whole_job_and_each_step_against_day_10(capsys):
    early = Measurement("day 10", 100.0, 1.0, step_median_seconds={"processed.dim_products": 8.0, "a.flat": 4.0})
    late_steps = {"processed.dim_products": 12.0, "a.flat": 4.2, "a.new_step": 1.0}
    late = Measurement("day 1100", 108.0, 1.0, step_median_seconds=late_steps)

    print_graph_growth(GraphGrowth("a generated shop", early, 900.0, late, 1100))

    printed = capsys.readouterr().out
    assert "day 1100 / day 10 = 1.08x (target <= 1.1x): MET" in printed
    assert re.search(r"processed\.dim_products\s+8\.00\s+12\.00\s+1\.50x\s+MISSED", printed)
    assert re.search(r"a\.flat\s+4\.00\s+4\.20\s+1\.05x\s+MET", printed)
    assert re.search(r"a\.new_step\s+0\.00\s+1\.00\s+-\s+-", printed), "a step day 10 did not run is not judged"
    assert "every step within 1.1x: MISSED (1 of 3 over)" in printed


def test_keeping_a_history_without_building_one_is_refused_before_any_work(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "argv", ["benchmark", "--parts", "steps", "--keep-history", str(tmp_path / "kept")])

    with pytest.raises(SystemExit, match="add history to --parts"):
        main()
    assert not (tmp_path / "kept").exists()


def test_measured_commands_take_turns_and_each_gets_the_median_of_its_own_runs(tmp_path):
    order = tmp_path / "order.txt"

    def command(name: str) -> list:
        return [sys.executable, "-c", f"open({str(order)!r}, 'a').write({name!r})"]

    before = []
    first, second = measure_in_turns(
        [
            Command("first", command("a"), dict(os.environ), before_each=lambda: before.append("first")),
            Command("second", command("b"), dict(os.environ)),
        ],
        tmp_path,
        repeat=3,
    )

    assert order.read_text() == "ababab", "the commands take turns, not blocks"
    assert before == ["first"] * 3, "a command's own preparation runs before each of its runs, and only its"
    assert (first.label, len(first.run_seconds)) == ("first", 3)
    assert (second.label, len(second.run_seconds)) == ("second", 3)
    assert second.seconds in second.run_seconds
