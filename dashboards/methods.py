"""Forecasting methods and backtest scores in plain words, the code's names kept second.

A forecast run stores its method as the engine labels it
(``demand: shrunk_seasonal_mean``, ``use: mean(croston+long_run_rate+sba) +
replenish: seasonal_naive(52)``) and its backtest scores under candidate names
(``combination(ets+theta)``). A steward reads "average of the same weeks in
past years, shrunk toward the recent level"; the technical name stays available
on the page (a column, an expander) for whoever wants to look it up.

The measure behind each flow's scores is MASE for regular series and RMSSE for
intermittent demand (:func:`steward.forecast.selection.select`); a run does not
store it beside the scores, so :func:`measure_of` reads it from the flow's
reason, which always names it, and falls back to the candidates scored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

from dashboards.text import Words

#: Plain words for each forecaster's name (the ``name`` of its class in steward.forecast.models).
METHOD_WORDS: dict[str, str] = {
    "naive": "repeat the last value",
    "seasonal_naive": "repeat the same period of last season",
    "naive2": "repeat the last value, seasonally adjusted",
    "drift": "a straight line through the first and last values",
    "theta": "the Theta method (a trend line blended with smoothing)",
    "ets": "exponential smoothing (recent values weigh most)",
    "arima": "ARIMA (each value predicted from the ones before)",
    "croston": "Croston's method for intermittent demand",
    "sba": "Croston's method, bias-corrected (SBA)",
    "tsb": "the TSB method for intermittent demand",
    "long_run_rate": "the long-run rate (demand as often and as large as the whole history shows)",
    "mstl": "weekly and yearly patterns around a trend (MSTL)",
    "window_mean": "average of the last year",
    "mean_last": "average of the last year",
    "seasonal_mean": "average of the same weeks in past years",
    "shrunk_seasonal_mean": (
        "average of the same weeks in past years, shrunk toward the recent level"
    ),
    "constant": "a constant",
    "baseline": "repeat the last value",
    "none": "no forecast (no data yet)",
}
#: Shorter words for a method named inside a combination or a sentence.
SHORT_WORDS: dict[str, str] = {
    "naive": "repeating the last value",
    "seasonal_naive": "repeating last season",
    "theta": "the Theta method",
    "ets": "exponential smoothing",
    "arima": "ARIMA",
    "croston": "Croston's method",
    "sba": "SBA",
    "tsb": "TSB",
    "long_run_rate": "the long-run rate",
    "window_mean": "the last year's average",
    "mean_last": "the last year's average",
    "seasonal_mean": "the average of the same weeks in past years",
}
#: A short name per forecaster for the backtest table's rows, where the plain words
#: above run too long for a column: two methods that differ only at the end of their
#: words ("average of the same weeks in past years", "..., shrunk toward the recent
#: level") read the same once a column cuts them. The word that tells a method
#: apart comes first; each name fits :data:`NAME_CHARS`.
SHORT_NAMES: dict[str, str] = {
    "naive": "Last value",
    "seasonal_naive": "Last season repeated",
    "naive2": "Last value, deseasonalised",
    "drift": "Straight line (drift)",
    "theta": "Theta",
    "ets": "Exponential smoothing",
    "arima": "ARIMA",
    "croston": "Croston",
    "sba": "SBA (Croston, corrected)",
    "tsb": "TSB",
    "long_run_rate": "Long-run rate",
    "mstl": "MSTL (week and year patterns)",
    "window_mean": "Last year's average",
    "mean_last": "Last year's average",
    "seasonal_mean": "Seasonal average",
    "shrunk_seasonal_mean": "Shrunk seasonal average",
    "constant": "Constant",
    "baseline": "Last value",
    "none": "No forecast",
}
#: Names of methods inside a combination's short name ("Average of ETS + Theta").
COMBINED_NAMES: dict[str, str] = {"ets": "ETS", "long_run_rate": "long-run rate"}
#: The longest short name the backtest table's Method column shows whole.
NAME_CHARS = 40
INTERMITTENT = frozenset({"croston", "sba", "tsb", "long_run_rate"})
_COUNTS = {2: "two", 3: "three", 4: "four", 5: "five"}
_COMBINED = re.compile(r"^(mean|median|combination)\((.*)\)$")
_BASE = re.compile(r"^[a-z][a-z0-9_]*")
#: Measures named in a reason, with their one-line explanations.
MEASURES: dict[str, str] = {
    "MASE": (
        "MASE: the backtest's mean absolute error divided by that of repeating last "
        "season's value on the history; below 1 beats it, lower is better."
    ),
    "RMSSE": (
        "RMSSE (intermittent demand): root mean squared error divided by that of "
        "repeating the last value; it rewards the right average rather than "
        "forecasting zero; lower is better."
    ),
}


def _base(label: str) -> str:
    found = _BASE.match(label.strip())
    return found.group(0) if found else label.strip()


def _members(inner: str) -> list[str]:
    """Top-level members of ``a+b+c`` (a member's own brackets may hold commas)."""
    out, depth, current = [], 0, ""
    for char in inner:
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        if char == "+" and depth == 0:
            out.append(current)
            current = ""
        else:
            current += char
    out.append(current)
    return [m.strip() for m in out if m.strip()]


def plain_method(label: str) -> str:
    """Plain words for one forecaster's label or candidate name.

    ``"shrunk_seasonal_mean"`` -> "average of the same weeks in past years, shrunk
    toward the recent level"; ``"mean(croston+long_run_rate+sba)"`` -> "average of
    three intermittent-demand methods"; ``"combination(ets+theta)"`` -> "average of
    exponential smoothing and the Theta method"; ``"ets(A,Ad,N)"`` -> exponential
    smoothing's words. A name it does not know is returned as it is.
    """
    label = label.strip()
    combined = _COMBINED.match(label)
    if combined:
        how = "median" if combined.group(1) == "median" else "average"
        members = _members(combined.group(2))
        bases = [_base(m) for m in members]
        if len(members) > 1 and all(b in INTERMITTENT for b in bases):
            count = _COUNTS.get(len(members), str(len(members)))
            return f"{how} of {count} intermittent-demand methods"
        names = [SHORT_WORDS.get(b, plain_method(m)) for b, m in zip(bases, members, strict=True)]
        if len(names) == 1:
            return names[0]
        return f"{how} of {', '.join(names[:-1])} and {names[-1]}"
    return METHOD_WORDS.get(_base(label), label)


def method_name(label: str) -> str:
    """A short name for one forecaster's label or candidate name, for a table's row.

    ``"shrunk_seasonal_mean"`` -> "Shrunk seasonal average"; ``"seasonal_mean"`` ->
    "Seasonal average"; ``"combination(ets+theta)"`` -> "Average of ETS + Theta";
    ``"ets(A,Ad,N)"`` -> "Exponential smoothing". The plain words
    (:func:`plain_method`) say what each does. A name it does not know is
    returned as it is.
    """
    label = label.strip()
    combined = _COMBINED.match(label)
    if combined:
        how = "Median" if combined.group(1) == "median" else "Average"
        parts = [
            COMBINED_NAMES.get(b, SHORT_NAMES.get(b, m).split(" (")[0])
            for m in _members(combined.group(2))
            for b in [_base(m)]
        ]
        return f"{how} of {' + '.join(parts)}"
    return SHORT_NAMES.get(_base(label), label)


def _distinct(names: list[str], labels: list[str]) -> list[str]:
    """``names`` with the technical label added to any name two rows share."""
    seen: dict[str, int] = {}
    for name in names:
        seen[name] = seen.get(name, 0) + 1
    return [
        f"{name} ({label})" if seen[name] > 1 else name
        for name, label in zip(names, labels, strict=True)
    ]


def flows_of(method: str) -> dict[str, str]:
    """A run's stored method split per flow: ``{"use": "...", "replenish": "..."}``.

    The run joins ``"flow: label"`` parts with ``" + "`` (a combination's own
    ``+`` has no spaces). A method without a flow name comes back under ``""``.
    """
    parts = re.split(r" \+ (?=[a-z_]+: )", method.strip()) if method else []
    out: dict[str, str] = {}
    for part in parts:
        flow, sep, label = part.partition(": ")
        if sep and re.fullmatch(r"[a-z_]+", flow):
            out[flow] = label
        else:
            out[""] = part
    return out


def reasons_of(reason: str) -> dict[str, str]:
    """A run's stored reason split per flow (the run joins ``"flow: reason"`` with ``" | "``)."""
    out: dict[str, str] = {}
    for part in (reason or "").split(" | "):
        flow, sep, text = part.partition(": ")
        if sep and re.fullmatch(r"[a-z_]+", flow):
            out[flow] = text
        elif part:
            out[""] = part
    return out


def flow_words(flow: str, vocab: Words) -> str:
    """The flow as the resource's people call it: "Grants" for a fund's ``use``; "" for none."""
    if not flow:
        return ""
    named = {"use": vocab.uses, "replenish": vocab.replenishes, "demand": "demand"}
    text = named.get(flow) or flow.replace("_", " ")
    return text[:1].upper() + text[1:]


_TOKEN = re.compile(
    r"\b(?:mean|median|combination)\([^()]*(?:\([^()]*\)[^()]*)*\)"
    r"|\b(?:shrunk_seasonal_mean|seasonal_naive|seasonal_mean|window_mean|mean_last|naive2"
    r"|long_run_rate|croston|sba|tsb|ets|theta|arima|mstl|drift)(?:\([^()]*\))?(?![\w(])"
    r"|\b(?:seasonal naive|seasonal mean|window mean|long run rate)\b"
)


def plain_reason(text: str) -> str:
    """A stored reason with every method name replaced by its plain words, in quotes.

    "... shrunk_seasonal_mean, the default for weekly flows, kept: backtest MASE 0.43
    against ets 0.43 ..." reads "... “average of the same weeks in past years, shrunk
    toward the recent level”, the default for weekly flows, kept: backtest MASE 0.43
    against “exponential smoothing (recent values weigh most)” 0.43 ...".
    """

    def swap(found: re.Match[str]) -> str:
        name = found.group(0).replace(" ", "_")
        return f"“{plain_method(name)}”"

    return _TOKEN.sub(swap, text or "")


def measure_of(flow: str, reasons: Mapping[str, str], methods: Mapping[str, Any]) -> str:
    """The measure a flow's backtest scores are in: "MASE" or "RMSSE".

    Read from the flow's reason ("backtest RMSSE 0.75"); without one, RMSSE when
    the scored candidates are intermittent-demand methods (only intermittent
    demand is scored among them), MASE otherwise.
    """
    said = re.findall(r"\b(MASE|RMSSE)\b", reasons.get(flow, ""))
    if said:
        return said[0]
    return "RMSSE" if any(_intermittent(str(m)) for m in methods) else "MASE"


def _intermittent(name: str) -> bool:
    """Whether a candidate is an intermittent-demand method or a combination of them."""
    combined = _COMBINED.match(name.strip())
    if combined:
        return all(_base(m) in INTERMITTENT for m in _members(combined.group(2)))
    return _base(name) in INTERMITTENT


def same_method(label: str, candidate: str) -> bool:
    """Whether a fitted label (``mean(sba+tsb)``, ``ets(A,N,N)``) is the scored ``candidate``.

    Combinations are compared by their members, others by the name before any bracket.
    """
    a, b = _COMBINED.match(label.strip()), _COMBINED.match(candidate.strip())
    if a and b:
        return sorted(map(_base, _members(a.group(2)))) == sorted(map(_base, _members(b.group(2))))
    return not a and not b and _base(label) == _base(candidate)


def score_table(
    scores: Mapping[str, Any], reason: str, vocab: Words, method: str = ""
) -> pd.DataFrame:
    """Backtest scores as rows, one column per measure used, best first within each flow.

    Columns: Series (the flow in the resource's words), Method (a short name,
    :func:`method_name`, distinct within the flow: two rows that would share one
    get the technical name added), Used ("yes" for the method the run chose,
    from ``method``, the run's stored method), one of ``MASE``/``RMSSE`` per
    measure the flows used (blank where it does not apply), How it works (plain
    words, :func:`plain_method`) and Technical name (the candidate's name in the
    engine). ``scores`` is the run's ``{flow: {candidate: score}}``; a ``None``
    score (the backtest failed) is left out. Empty frame when nothing was scored.
    """
    reasons = reasons_of(reason)
    chosen = flows_of(method)
    # Runs store {flow: {candidate: score}}; older ones a flat {candidate: score}.
    nested: dict[str, dict[str, Any]] = {}
    for key, value in scores.items():
        if isinstance(value, dict):
            nested[key] = value
        else:
            nested.setdefault("", {})[key] = value
    rows = []
    for order, (flow, by_method) in enumerate(nested.items()):
        measure = measure_of(flow, reasons, by_method)
        scored = [(str(c), v) for c, v in by_method.items() if v is not None]
        names = _distinct([method_name(c) for c, _ in scored], [c for c, _ in scored])
        for (candidate, value), name in zip(scored, names, strict=True):
            rows.append(
                {
                    "order": order,
                    "Series": flow_words(flow, vocab),
                    "Method": name,
                    "Used": "yes" if same_method(chosen.get(flow, ""), candidate) else "",
                    "How it works": plain_method(candidate),
                    "measure": measure,
                    "score": float(value),
                    "Technical name": candidate,
                }
            )
    if not rows:
        return pd.DataFrame(columns=list(SCORE_COLUMNS))
    frame = pd.DataFrame(rows).sort_values(["order", "score"], kind="stable")
    used = [m for m in MEASURES if m in set(frame["measure"])]
    for m in used:
        frame[m] = frame["score"].where(frame["measure"] == m)
    return frame[["Series", "Method", "Used", *used, "How it works", "Technical name"]].reset_index(
        drop=True
    )


#: The backtest table's columns, measures aside (they sit after Used).
SCORE_COLUMNS = ("Series", "Method", "Used", "How it works", "Technical name")


def accuracy_table(accuracy: Mapping[str, Any], unit: str, kind: str, tz: str) -> pd.DataFrame:
    """A run's scored accuracy (``steward.forecast.runs.score_past_runs``) in plain words.

    Rows of Measure and Value: days compared, the average miss and the average
    actual level in the resource's unit, the share of days inside the forecast's
    80% band, and when it was scored (in ``tz``). Keys it does not know are shown
    as they are, so nothing stored is hidden.
    """
    from datetime import datetime

    from dashboards.text import amount, local_time, percent

    words = {
        "days": ("Days compared", lambda v: f"{int(v):,}"),
        "mae": ("Average miss", lambda v: amount(float(v), unit, kind=kind)),
        "mean_actual": ("Average actual level", lambda v: amount(float(v), unit, kind=kind)),
        "coverage_80": ("Days inside the 80% band", lambda v: percent(float(v))),
        "scored_at": (
            "Scored",
            lambda v: local_time(datetime.fromisoformat(str(v)), tz),
        ),
    }
    rows = []
    for key, value in accuracy.items():
        label, show = words.get(key, (key, str))
        try:
            text = show(value)
        except (TypeError, ValueError):
            text = str(value)
        rows.append({"Measure": label, "Value": text})
    return pd.DataFrame(rows, columns=["Measure", "Value"])
