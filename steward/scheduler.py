"""The one place where jobs meet APScheduler: ``steward run``.

One dedicated process runs every job from the config: a job per enabled
collector, plus the pipeline (forecast -> quotas -> alerts) when
``steward.pipeline.run_pipeline`` exists, plus any ``extra_jobs`` a caller adds.
Jobs are built in code from the config on every start (``replace_existing``) and
kept in memory only: no job store is ever shared between processes. A
single-instance lock (a lock file beside a SQLite database, a session advisory
lock on PostgreSQL) makes a second ``steward run`` exit with :class:`StoreLocked`
instead of running every job twice. On PostgreSQL the lock is checked before
every job and fenced by a lease (:mod:`steward.scheduler_lease`): a holder that
lost it runs no more jobs and stops, and a successor starts only after it. Every execution, failure and missed run is
written to ``job_run`` for ``steward status``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MISSED,
    JobExecutionEvent,
)
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Connection, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from steward.config import Schedule
from steward.cron import apscheduler_crontab
from steward.errors import ConfigError, LockLost, SourceError, StewardError, StoreLocked
from steward.scheduler_lease import Guard, LeaseGuard, runner_name
from steward.store.models import JobRun
from steward.workspace import Workspace

log = logging.getLogger("steward.scheduler")

#: A run may start this late (e.g. after a suspend) and still count as on time.
MISFIRE_GRACE_SECONDS = 3600


@dataclass(frozen=True)
class JobSpec:
    """A job to schedule: ``id`` is also its name in ``job_run``."""

    id: str
    func: Callable[[], object]
    schedule: Schedule
    run_at_start: bool = True
    #: How long after start a ``run_at_start`` job first runs.
    start_delay: timedelta = timedelta(0)
    #: Timezone of a cron schedule: "0 6 * * *" is 06:00 there (the commons').
    timezone: str = "UTC"


@dataclass(frozen=True)
class JobProblem:
    job: str
    status: str  # failed, missed
    at: datetime
    error: str | None


def collector_jobs(ws: Workspace) -> list[JobSpec]:
    # Imported here: collectors load pandas, which `steward status` never needs.
    from steward import collectors

    jobs = []
    for cfg in ws.settings.collectors:
        if not cfg.enabled:
            continue
        collectors.build(ws.config, cfg.name)  # a bad option fails now, not at 3 a.m.
        zone = next((c.timezone for c in ws.settings.commons if c.slug == cfg.commons), None)
        jobs.append(
            JobSpec(
                f"collect:{cfg.name}",
                _collect_job(ws, cfg.name),
                cfg.schedule,
                timezone=zone or _only_zone(ws),
            )
        )
    return jobs


def _collect_job(ws: Workspace, name: str) -> Callable[[], object]:
    from steward import collectors

    def job() -> object:
        report = collectors.run(ws, name)
        if report.status != "ok":
            raise SourceError(f"collector {name!r} failed: {report.error}")
        return report

    return job


def pipeline_job(ws: Workspace) -> JobSpec | None:
    """The pipeline step, if that module exists in this version of Steward."""
    try:
        module = importlib.import_module("steward.pipeline")
    except ModuleNotFoundError as exc:
        if exc.name != "steward.pipeline":
            raise
        return None
    run_pipeline = getattr(module, "run_pipeline", None)
    if run_pipeline is None:
        return None

    def run() -> None:
        log.info("pipeline: %s", run_pipeline(ws).line())

    return JobSpec(
        "pipeline",
        run,
        ws.settings.forecast.schedule,
        timezone=_only_zone(ws),
    )


#: A due risk backtest waits this long after start, so the first forecasts and pages go first.
CALIBRATION_START_DELAY = timedelta(minutes=10)


def calibration_job(ws: Workspace) -> JobSpec:
    """The weekly risk backtest (:func:`steward.pipeline.run_calibration`).

    It also runs soon after start when none is stored or the newest missed a week.
    """
    from steward.pipeline import calibration_due, run_calibration

    return JobSpec(
        "calibrate",
        lambda: run_calibration(ws),
        ws.settings.forecast.calibration_schedule,
        run_at_start=calibration_due(ws),
        start_delay=CALIBRATION_START_DELAY,
        timezone=_only_zone(ws),
    )


def _only_zone(ws: Workspace) -> str:
    """The commons' timezone when every commons shares one, else UTC."""
    zones = {c.timezone for c in ws.settings.commons}
    return zones.pop() if len(zones) == 1 else "UTC"


def trigger(schedule: Schedule, timezone: str = "UTC") -> IntervalTrigger | CronTrigger:
    """APScheduler's trigger; a cron schedule runs in ``timezone`` (DST included)."""
    if schedule.seconds is not None:
        return IntervalTrigger(seconds=schedule.seconds, timezone=UTC)
    assert schedule.cron is not None
    try:
        # Weekday numbers as crontab(5) reads them (0 = Sunday), see steward.cron.
        return CronTrigger.from_crontab(
            apscheduler_crontab(schedule.cron), timezone=ZoneInfo(timezone)
        )
    except ValueError as exc:
        raise ConfigError(
            f"schedule cron {schedule.cron!r} is not valid: {exc}",
            hint="use five fields: minute hour day month weekday, e.g. '0 6 * * *'",
        ) from None


class _JobRecorder:
    """Writes every execution, failure and missed run of the scheduler to ``job_run``."""

    def __init__(self, ws: Workspace, guard: Guard, on_lost: Callable[[], None]) -> None:
        self.ws = ws
        self.guard = guard
        self.on_lost = on_lost
        self.started: dict[str, datetime] = {}
        self.lock = threading.Lock()

    def wrap(self, spec: JobSpec) -> Callable[[], object]:
        def run() -> object:
            with self.lock:
                self.started[spec.id] = datetime.now(UTC)
            try:
                with self.guard.job():
                    return spec.func()
            except LockLost:
                self.on_lost()
                raise

        return run

    def __call__(self, event: Any) -> None:
        now = datetime.now(UTC)
        scheduled = getattr(event, "scheduled_run_time", None)
        started: datetime | None
        error: str | None
        if event.code == EVENT_JOB_MISSED:
            status, started, error = (
                "missed",
                None,
                "missed its run time (the process was busy or down)",
            )
        else:
            assert isinstance(event, JobExecutionEvent)
            with self.lock:
                started = self.started.pop(event.job_id, None)
            failed = event.code == EVENT_JOB_ERROR
            status = "failed" if failed else "ok"
            error = f"{type(event.exception).__name__}: {event.exception}" if failed else None
            if failed:
                log.warning("job %s failed: %s", event.job_id, event.exception)
        try:
            with self.ws.store.write() as conn:
                conn.execute(
                    insert(JobRun).values(
                        job=event.job_id,
                        scheduled_at=scheduled,
                        started_at=started,
                        finished_at=None if status == "missed" else now,
                        status=status,
                        error=error,
                        runner=runner_name(),
                    )
                )
        except (StewardError, SQLAlchemyError):
            # The record is lost, not the scheduler: the next job still runs.
            log.exception("could not record job %s (%s)", event.job_id, status)


def build_scheduler(
    ws: Workspace,
    extra_jobs: Sequence[JobSpec] = (),
    *,
    guard: Guard | None = None,
    on_lost: Callable[[], None] = lambda: None,
) -> BlockingScheduler:
    """A scheduler with one job per enabled collector, the pipeline, and ``extra_jobs``.

    Every job first asks ``guard`` (see :func:`instance_lock`); when it refuses,
    ``on_lost`` is called and the job does not run.
    """
    specs = collector_jobs(ws)
    pipeline = pipeline_job(ws)
    if pipeline is not None:
        specs.extend([pipeline, calibration_job(ws)])
    specs.extend(extra_jobs)
    scheduler = BlockingScheduler(
        timezone=UTC,
        executors={"default": ThreadPoolExecutor(max(1, min(4, len(specs))))},
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": MISFIRE_GRACE_SECONDS,
        },
    )
    recorder = _JobRecorder(ws, guard or Guard(), on_lost)
    scheduler.add_listener(recorder, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)
    now = datetime.now(UTC)
    for spec in specs:
        scheduler.add_job(
            recorder.wrap(spec),
            trigger(spec.schedule, spec.timezone),
            id=spec.id,
            name=spec.id,
            replace_existing=True,
            next_run_time=now + spec.start_delay if spec.run_at_start else None,
        )
    return scheduler


@contextlib.contextmanager
def instance_lock(ws: Workspace) -> Iterator[Guard]:
    """Hold the single-instance lock for the store, or raise :class:`StoreLocked`.

    Yields the :class:`Guard` to check before every job (a lock file cannot be
    lost; a PostgreSQL session lock can).
    """
    url = make_url(ws.store.url)
    if url.get_backend_name() == "sqlite":
        with _file_lock(Path(url.database or "steward.db").with_suffix(".run.lock")):
            yield Guard()
        return
    with _advisory_lock(ws) as guard:
        yield guard


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise StoreLocked(
                f"another `steward run` (pid {holder}) is already running jobs on this store",
                hint=f"stop it first; its lock is {path}",
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        handle.close()  # closing releases the flock


def advisory_key(database: str) -> int:
    """A stable 63-bit advisory lock key per database (the key space is server-wide)."""
    digest = hashlib.blake2b(f"steward run:{database}".encode(), digest_size=8).digest()
    return int.from_bytes(digest) >> 1


@contextlib.contextmanager
def _advisory_lock(ws: Workspace) -> Iterator[Guard]:
    # A session lock lives as long as this connection: held for the process lifetime.
    conn = ws.store.engine.connect()
    key = advisory_key(ws.store.engine.url.database or "")
    got = False
    try:
        got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
        conn.commit()
        if not got:
            raise StoreLocked(
                "another `steward run` is already running jobs on this database",
                hint="stop it first (pg_locks shows the holder: locktype 'advisory')",
            )
        guard = LeaseGuard(ws, conn, key)
        guard.acquire()
        try:
            yield guard
        finally:
            guard.release()
    finally:
        if got:
            # The pooled connection outlives this block: release the lock explicitly
            # (unless the connection, and the lock with it, is already gone).
            with contextlib.suppress(SQLAlchemyError):
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
        with contextlib.suppress(SQLAlchemyError):
            conn.close()


def run_forever(
    ws: Workspace,
    extra_jobs: Sequence[JobSpec] = (),
    *,
    on_ready: Callable[[BlockingScheduler], None] | None = None,
) -> None:
    """Hold the lock and run every job until SIGTERM or SIGINT.

    Raises :class:`StoreLocked` if the lock was lost (PostgreSQL) and the
    scheduler stopped because of it.
    """
    with instance_lock(ws) as guard:
        stopper: list[threading.Thread] = []
        stop_lock = threading.Lock()
        lost: list[bool] = []

        def shutdown(why: str) -> None:
            with stop_lock:
                if stopper:
                    return
                log.info("%s: letting running jobs finish, then stopping", why)
                # shutdown(wait=True) joins the job threads: not from a job or signal handler.
                thread = threading.Thread(target=scheduler.shutdown, kwargs={"wait": True})
                stopper.append(thread)
                thread.start()

        def stop(signum: int, _frame: FrameType | None) -> None:
            shutdown(signal.Signals(signum).name)

        def on_lost() -> None:
            lost.append(True)
            shutdown("lost the scheduler lock")

        scheduler = build_scheduler(ws, extra_jobs, guard=guard, on_lost=on_lost)

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            log.info("scheduler started with %d job(s)", len(scheduler.get_jobs()))
            if on_ready is not None:
                on_ready(scheduler)
            scheduler.start()
            for thread in list(stopper):
                thread.join()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        log.info("scheduler stopped")
        if lost:
            raise LockLost(
                "`steward run` stopped: it lost the scheduler lock on the database "
                "(its connection ended), so another process may run the jobs",
                hint="start it again: it waits until no other scheduler runs, then takes over",
            )


def recent_job_problems(conn: Connection, since: datetime) -> list[JobProblem]:
    """Failed and missed jobs since ``since``, newest first (for ``steward status``)."""
    rows = conn.execute(
        select(JobRun.job, JobRun.status, JobRun.scheduled_at, JobRun.finished_at, JobRun.error)
        .where(
            JobRun.status.in_(("failed", "missed")),
            (JobRun.finished_at >= since) | (JobRun.scheduled_at >= since),
        )
        .order_by(JobRun.id.desc())
    ).all()
    return [
        JobProblem(
            job=r.job,
            status=r.status,
            at=r.finished_at or r.scheduled_at or since,
            error=r.error,
        )
        for r in rows
    ]
