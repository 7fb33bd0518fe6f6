"""Runs inside the benchmark's own statsforecast environment (never Steward's).

``python statsforecast_runner.py IN.json OUT.json``: IN holds series
(``key``, ``y``, ``h``, ``m``); OUT gets AutoETS and AutoTheta forecasts with
80% and 95% intervals and the CPU seconds of each fit. Numba compiles on first
use, so one warm-up fit per model runs before the clock starts.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
from statsforecast.models import AutoETS, AutoTheta

MODELS = {"autoets": AutoETS, "autotheta": AutoTheta}


def main() -> None:
    source, target = sys.argv[1], sys.argv[2]
    with open(source, encoding="utf-8") as fh:
        series = json.load(fh)
    warm = np.abs(np.sin(np.arange(48))) + 10
    for model in MODELS.values():
        model(season_length=12).forecast(y=warm, h=6, level=[80, 95])
    out = []
    for s in series:
        y = np.asarray(s["y"], dtype=float)
        row = {"key": s["key"]}
        for name, model in MODELS.items():
            started = time.process_time()
            try:
                fc = model(season_length=int(s["m"])).forecast(y=y, h=int(s["h"]), level=[80, 95])
                row[name] = {k: np.asarray(v, dtype=float).tolist() for k, v in fc.items()}
            except Exception as exc:  # noqa: BLE001 - report the failure beside the others
                row[name] = {"error": f"{type(exc).__name__}: {exc}"}
            row[name]["cpu"] = time.process_time() - started
        out.append(row)
    with open(target, "w", encoding="utf-8") as fh:
        json.dump(out, fh)


if __name__ == "__main__":
    main()
