"""`steward run`: one instance per store, jobs from config, every outcome in job_run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.events import EVENT_JOB_MISSED, JobExecutionEvent
from sqlalchemy import func, select

from steward import scheduler
from steward.config import Schedule
from steward.errors import StoreLocked
from steward.store.models import Event, JobRun
from steward.workspace import Workspace

from .support import MakeWorkspace, csv_collector

H = "external_id,resource,kind,quantity,occurred_at\n"


def job_runs(ws: Workspace) -> list[tuple[str, str]]:
    with ws.store.read() as conn:
        return [
            (r.job, r.status)
            for r in conn.execute(select(JobRun.job, JobRun.status).order_by(JobRun.id))
        ]


def test_jobs_come_from_config(make_workspace: MakeWorkspace, tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    ws = make_workspace(
        [
            csv_collector(schedule={"every": "1m"}),
            {**csv_collector(schedule={"cron": "0 6 * * *"}), "name": "daily"},
            {**csv_collector(), "name": "off", "enabled": False},
        ]
    )
    sched = scheduler.build_scheduler(ws)
    ids = {job.id for job in sched.get_jobs()}
    assert {"collect:ledger", "collect:daily"} <= ids
    assert "collect:off" not in ids
    assert sched._job_defaults == {
        "coalesce": True,
        "max_instances": 1,
        "misfire_grace_time": scheduler.MISFIRE_GRACE_SECONDS,
    }
    assert str(sched.timezone) == "UTC"


def test_ok_failed_and_missed_jobs_are_recorded(
    make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.csv").write_text(H + "e1,fund,use,1,2024-05-01\n")
    ws = make_workspace([csv_collector(), {**csv_collector("missing.csv"), "name": "broken"}])

    def boom() -> None:
        raise RuntimeError("forecast exploded")

    extra = [scheduler.JobSpec("pipeline-test", boom, Schedule(every="1h"))]
    sched = scheduler.build_scheduler(ws, extra)
    runner = threading.Thread(target=sched.start)
    runner.start()
    deadline = time.monotonic() + 30
    while len(job_runs(ws)) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    sched.shutdown(wait=True)
    runner.join(10)
    # A missed run, as APScheduler reports one after downtime.
    recorder = next(
        lst for lst, _mask in sched._listeners if isinstance(lst, scheduler._JobRecorder)
    )
    recorder(JobExecutionEvent(EVENT_JOB_MISSED, "collect:ledger", "default", datetime.now(UTC)))
    runs = job_runs(ws)
    assert ("collect:ledger", "ok") in runs
    assert ("collect:broken", "failed") in runs
    assert ("pipeline-test", "failed") in runs
    assert ("collect:ledger", "missed") in runs
    with ws.store.read() as conn:
        problems = scheduler.recent_job_problems(conn, datetime.now(UTC) - timedelta(hours=1))
        events = conn.execute(select(func.count()).select_from(Event)).scalar_one()
    assert {(p.job, p.status) for p in problems} == {
        ("collect:broken", "failed"),
        ("pipeline-test", "failed"),
        ("collect:ledger", "missed"),
    }
    assert any("does not exist" in (p.error or "") for p in problems)
    assert events == 1


def test_second_instance_is_refused_in_process(
    make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    (tmp_path / "src").mkdir()
    ws = make_workspace([csv_collector()])
    with (
        scheduler.instance_lock(ws),
        pytest.raises(StoreLocked, match="already running"),
        scheduler.instance_lock(ws),
    ):
        pass
    with scheduler.instance_lock(ws):  # released: can be taken again
        pass


def _start(config: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEWARD_")}
    return subprocess.Popen(
        [sys.executable, "-m", "steward", "--config", str(config), "run"],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


def job_runners(ws: Workspace) -> set[str]:
    with ws.store.read() as conn:
        return set(conn.execute(select(JobRun.runner).distinct()).scalars())


@pytest.mark.slow
def test_two_steward_run_processes_exactly_one_runs_jobs(
    make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.csv").write_text(H + "e1,fund,use,1,2024-05-01\n")
    ws = make_workspace([csv_collector(schedule={"every": "1s"})])
    first = _start(ws.config.path, tmp_path / "one.log")
    second = _start(ws.config.path, tmp_path / "two.log")
    # Generous waits, each from the step before: on a loaded machine starting a
    # process alone can take tens of seconds. What is proved does not depend on them.
    try:
        deadline = time.monotonic() + 120
        exited = None
        while time.monotonic() < deadline and exited is None:
            for proc in (first, second):
                if proc.poll() is not None:
                    exited = proc
            time.sleep(0.2)
        assert exited is not None, "neither process exited: both hold the lock?"
        assert exited.returncode == 1
        log = (tmp_path / ("one.log" if exited is first else "two.log")).read_text()
        assert "already running jobs on this" in log
        runner = second if exited is first else first
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(job_runs(ws)) < 3:
            time.sleep(0.2)
        assert runner.poll() is None
        assert len(job_runs(ws)) >= 3  # every second, by the one runner only
        runner.send_signal(signal.SIGTERM)
        assert runner.wait(timeout=60) == 0  # clean shutdown
    finally:
        for proc in (first, second):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert {status for _, status in job_runs(ws)} == {"ok"}
    # At no time did two processes run jobs: every run was the survivor's.
    assert {r.rsplit(":", 1)[1] for r in job_runners(ws)} == {str(runner.pid)}


def test_cron_runs_in_the_commons_timezone(make_workspace: MakeWorkspace, tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    ws = make_workspace(
        [{**csv_collector(schedule={"cron": "0 6 * * *"}), "name": "daily"}],
        timezone="America/Los_Angeles",
    )
    sched = scheduler.build_scheduler(ws)
    cron = sched.get_job("collect:daily").trigger
    # 06:00 in Los Angeles is 13:00 UTC in summer and 14:00 UTC in winter, never 06:00 UTC.
    for after, expected in (
        (datetime(2024, 7, 1, 12, tzinfo=UTC), datetime(2024, 7, 1, 13, tzinfo=UTC)),
        (datetime(2024, 12, 1, 12, tzinfo=UTC), datetime(2024, 12, 1, 14, tzinfo=UTC)),
    ):
        assert cron.get_next_fire_time(None, after) == expected


def test_the_risk_backtest_is_scheduled_weekly_and_soon_after_start_when_due(
    make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    from steward.forecast.reliability import reliability
    from steward.pipeline import calibration_due, run_calibration
    from steward.store import catalog
    from steward.store.models import RiskCalibration

    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.csv").write_text(H + "e1,fund,use,1,2024-05-01\n")
    ws = make_workspace([csv_collector()])
    # Nothing stored yet: due 10 minutes after start, not at once (first forecasts go first).
    assert calibration_due(ws)
    started = datetime.now(UTC)
    job = scheduler.build_scheduler(ws).get_job("calibrate")
    assert job is not None
    assert timedelta(minutes=9) < job.next_run_time - started <= timedelta(minutes=11)
    # A store younger than the horizon has no origin: nothing stored, nothing raised.
    assert run_calibration(ws) == 0
    # A fresh backtest on record: the job waits for its weekly time (Sunday 03:00 local).
    with ws.store.write() as conn:
        fund = catalog.resource(conn, "fund")
        assert fund is not None
        conn.execute(
            RiskCalibration.__table__.insert(),
            {
                "resource_id": fund.id,
                "event": "below_reserve",
                "computed_at": started - timedelta(days=1),
                "period_start": started - timedelta(days=366),
                "period_end": started - timedelta(days=1),
                "origins": 40,
                "figures": reliability([0.1, 0.2], [0.0, 1.0]).to_json(),
            },
        )
    assert not calibration_due(ws)
    job = scheduler.build_scheduler(ws).get_job("calibrate")
    assert job is not None and job.next_run_time is None  # paused until the scheduler starts
    fire = job.trigger.get_next_fire_time(None, started)
    assert fire is not None and fire.weekday() == 6 and fire.hour == 3
    assert calibration_due(ws, started + timedelta(days=9))
