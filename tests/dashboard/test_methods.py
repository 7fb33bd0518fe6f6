"""Forecasting methods in plain words, and backtest scores headed by the measure they are in."""

from __future__ import annotations

import pytest

from dashboards import methods
from dashboards.text import FUND, POOL

STOCK_REASON = (
    "use: intermittent demand (71% zero weeks): mean(long_run_rate+sba+tsb) chosen among the "
    "intermittent-demand methods by backtest RMSSE 1.85 over 2 origins (seasonal naive scored "
    "1.65, but a repeated last value says nothing about how often demand comes) | replenish: "
    "105 weeks of history, season length 52: shrunk_seasonal_mean, the default for weekly "
    "flows, kept: backtest MASE 0.76 against combination(ets+theta) 0.72 over 2 origins; "
    "none beat it by 50%"
)
STOCK_METHOD = "use: mean(long_run_rate+sba+tsb) + replenish: shrunk_seasonal_mean"
STOCK_SCORES = {
    "use": {
        "croston": 1.9,
        "combination(long_run_rate+sba+tsb)": 1.85,
        "seasonal_naive": 1.65,
    },
    "replenish": {"shrunk_seasonal_mean": 0.76, "combination(ets+theta)": 0.72, "ets": None},
}


@pytest.mark.parametrize(
    ("label", "words"),
    [
        (
            "shrunk_seasonal_mean",
            "average of the same weeks in past years, shrunk toward the recent level",
        ),
        ("mean(croston+long_run_rate+sba)", "average of three intermittent-demand methods"),
        ("combination(croston+sba+tsb)", "average of three intermittent-demand methods"),
        ("combination(ets+theta)", "average of exponential smoothing and the Theta method"),
        ("ets(A,Ad,N) of logs", "exponential smoothing (recent values weigh most)"),
        ("seasonal_naive(52)", "repeat the same period of last season"),
        ("mean_last(52)", "average of the last year"),
        ("something_new", "something_new"),
    ],
)
def test_method_names_read_as_plain_words(label: str, words: str) -> None:
    assert methods.plain_method(label) == words


def test_a_runs_method_and_reason_split_per_flow() -> None:
    assert methods.flows_of(STOCK_METHOD) == {
        "use": "mean(long_run_rate+sba+tsb)",
        "replenish": "shrunk_seasonal_mean",
    }
    assert methods.flows_of("ets") == {"": "ets"}
    reasons = methods.reasons_of(STOCK_REASON)
    assert set(reasons) == {"use", "replenish"}
    assert methods.measure_of("use", reasons, STOCK_SCORES["use"]) == "RMSSE"
    assert methods.measure_of("replenish", reasons, STOCK_SCORES["replenish"]) == "MASE"
    # Without a reason naming it, the candidates tell: intermittent methods are scored by RMSSE.
    assert methods.measure_of("x", {}, {"croston": 1.0, "combination(sba+tsb)": 1.0}) == "RMSSE"
    assert methods.measure_of("x", {}, {"ets": 1.0, "theta": 1.0}) == "MASE"


def test_a_reason_names_no_engine_method_but_keeps_its_figures() -> None:
    text = methods.plain_reason(methods.reasons_of(STOCK_REASON)["replenish"])
    assert "shrunk_seasonal_mean" not in text and "combination(" not in text
    assert "“average of the same weeks in past years, shrunk toward the recent level”" in text
    assert "“average of exponential smoothing and the Theta method” 0.72" in text
    assert "MASE 0.76" in text
    use = methods.plain_reason(methods.reasons_of(STOCK_REASON)["use"])
    assert "“average of three intermittent-demand methods” chosen" in use
    assert "“repeat the same period of last season” scored 1.65" in use


def test_scores_are_headed_by_their_measure_one_column_each() -> None:
    table = methods.score_table(STOCK_SCORES, STOCK_REASON, FUND, STOCK_METHOD)
    assert list(table.columns) == [
        "Series",
        "Method",
        "Used",
        "MASE",
        "RMSSE",
        "How it works",
        "Technical name",
    ]
    grants = table[table["Series"] == "Grants"]
    donations = table[table["Series"] == "Donations"]
    # Intermittent grants were scored by RMSSE: none of their figures sits under MASE.
    assert grants["MASE"].isna().all() and grants["RMSSE"].notna().all()
    assert donations["RMSSE"].isna().all() and donations["MASE"].notna().all()
    # Best first within each flow, the method the run used marked, the failed one left out.
    assert donations["Technical name"].tolist() == [
        "combination(ets+theta)",
        "shrunk_seasonal_mean",
    ]
    assert table.loc[table["Used"] == "yes", "Technical name"].tolist() == [
        "combination(long_run_rate+sba+tsb)",
        "shrunk_seasonal_mean",
    ]
    assert "average of three intermittent-demand methods" in grants["How it works"].tolist()
    assert "Average of long-run rate + SBA + TSB" in grants["Method"].tolist()


def test_each_method_tried_has_its_own_short_name_in_the_backtest_table() -> None:
    # Two methods whose plain words differ only at their end ("average of the same weeks
    # in past years" and "..., shrunk toward the recent level") read the same once a
    # column cuts them: each row's name is short, distinct, and tells them apart first.
    scores = {
        "demand": {
            "seasonal_naive": 2.07,
            "ets": 6.86,
            "theta": 3.9,
            "seasonal_mean": 1.74,
            "window_mean": 2.23,
            "shrunk_seasonal_mean": 1.79,
            "combination(ets+theta)": 5.36,
            # Two names for one method: told apart by their technical names.
            "mean_last": 2.3,
        }
    }
    table = methods.score_table(scores, "", POOL, "demand: shrunk_seasonal_mean")
    names = table["Method"].tolist()
    assert len(set(names)) == len(names)
    assert all(len(n) <= methods.NAME_CHARS for n in names if "(" not in n), names
    by_name = dict(zip(table["Technical name"], names, strict=True))
    assert by_name["seasonal_mean"] == "Seasonal average"
    assert by_name["shrunk_seasonal_mean"] == "Shrunk seasonal average"
    assert by_name["combination(ets+theta)"] == "Average of ETS + Theta"
    assert by_name["window_mean"] == "Last year's average (window_mean)"
    assert by_name["mean_last"] == "Last year's average (mean_last)"
    # The full plain words beside each name, whole.
    words = dict(zip(table["Technical name"], table["How it works"], strict=True))
    assert words["shrunk_seasonal_mean"] == (
        "average of the same weeks in past years, shrunk toward the recent level"
    )


@pytest.mark.parametrize("name", sorted(methods.SHORT_NAMES))
def test_every_short_name_fits_the_method_column(name: str) -> None:
    assert len(methods.method_name(name)) <= methods.NAME_CHARS


def test_a_single_measure_gets_a_single_column() -> None:
    reason = (
        "demand: intermittent demand (34% zero weeks): mean(croston+long_run_rate+tsb) chosen "
        "by backtest RMSSE 0.75 vs seasonal naive 1.04 over 2 origins"
    )
    scores = {"demand": {"combination(croston+long_run_rate+tsb)": 0.75, "seasonal_naive": 1.04}}
    table = methods.score_table(scores, reason, POOL, "demand: mean(croston+long_run_rate+tsb)")
    assert "MASE" not in table.columns
    assert table["RMSSE"].tolist() == [0.75, 1.04]
    assert table["Series"].tolist() == ["Demand", "Demand"]
    # A flat score dict (no flows) is one unnamed series, scored by MASE.
    flat = methods.score_table({"ets": 0.82, "theta": 0.91}, "lowest backtest MASE", FUND, "ets")
    assert flat["MASE"].tolist() == [0.82, 0.91] and flat["Used"].tolist() == ["yes", ""]


def test_stored_accuracy_reads_in_words_and_units() -> None:
    table = methods.accuracy_table(
        {"days": 12, "mae": 3.25, "coverage_80": 0.75, "scored_at": "2026-11-30T12:00:00+00:00"},
        "L",
        "stock",
        "Europe/London",
    )
    assert table.to_dict("records") == [
        {"Measure": "Days compared", "Value": "12"},
        {"Measure": "Average miss", "Value": "3.2 L"},
        {"Measure": "Days inside the 80% band", "Value": "75%"},
        {"Measure": "Scored", "Value": "30 Nov 2026, 12:00 GMT"},
    ]
