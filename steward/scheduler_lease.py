"""One scheduler for sure on PostgreSQL: an advisory lock checked before every job,
fenced by a lease the holder renews.

A session advisory lock says who holds the scheduler, but it lives in one
server connection: a network blip, a server restart or ``pg_terminate_backend``
ends it silently, and another ``steward run`` can take it while the first one
still runs jobs. So:

* before every job the holder checks, on the lock's own connection, that the
  lock is still granted to it; if not, it runs no more jobs and stops;
* the holder also keeps a lease row (``scheduler_lease``: holder, expiry on the
  server's clock) renewed before every job and every :data:`RENEW_SECONDS`
  while it runs; it keeps renewing while a job it started is still finishing,
  even after losing the lock;
* a new holder of the advisory lock starts running jobs only once the previous
  lease has expired or been released: a second process takes over only when the
  first has stopped (or died and its lease ran out).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import Connection, text
from sqlalchemy.exc import SQLAlchemyError

from steward.errors import LockLost, StoreError, StoreLocked
from steward.workspace import Workspace

log = logging.getLogger("steward.scheduler")

#: A lease outlives its last renewal by this much; a dead holder blocks a successor this long.
LEASE_SECONDS = 30.0
#: How often a holder renews its lease between jobs.
RENEW_SECONDS = 5.0


def runner_name() -> str:
    """This process as job_run records it: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"[:64]


class Guard:
    """Permission to run jobs; :meth:`check` before each one."""

    def check(self) -> None:
        """Raise :class:`StoreLocked` if this process may no longer run jobs."""

    @contextmanager
    def job(self) -> Iterator[None]:
        """Bracket one job's execution (a lease stays renewed while a job runs)."""
        self.check()
        yield


class LeaseGuard(Guard):
    """The PostgreSQL guard: advisory lock on ``lock_conn`` plus a renewed lease."""

    def __init__(self, ws: Workspace, lock_conn: Connection, key: int) -> None:
        self.ws = ws
        self.lock_conn = lock_conn
        self.key = key
        self.holder = f"{runner_name()}:{uuid.uuid4().hex[:8]}"
        self.lost = threading.Event()
        self.stopped = threading.Event()
        self.running = 0
        self.mutex = threading.Lock()
        self.renewer = threading.Thread(target=self._renew_loop, daemon=True, name="lease")

    # -- taking over ------------------------------------------------------------

    def acquire(self, wait: float = LEASE_SECONDS * 2) -> None:
        """Take the lease once any previous holder's has ended (waiting up to ``wait`` s)."""
        deadline = threading.Event()
        waited = 0.0
        while True:
            previous = self._try_take()
            if previous is None:
                self.renewer.start()
                return
            if waited >= wait:
                raise StoreLocked(
                    f"the previous `steward run` ({previous}) still holds the scheduler lease",
                    hint="it stops within a job once it has lost the lock; if it is stuck, "
                    "stop it (its pid is in the holder name), then start this one again",
                )
            if waited == 0:
                log.warning("waiting for the previous scheduler (%s) to stop", previous)
            deadline.wait(1.0)
            waited += 1.0

    def _try_take(self) -> str | None:
        """None when taken; else the live holder."""
        with self.ws.store.write() as conn:
            row = conn.execute(
                text(
                    "INSERT INTO scheduler_lease (name, holder, expires_at) "
                    "VALUES ('run', :me, now() + :ttl) "
                    "ON CONFLICT (name) DO UPDATE SET holder = :me, expires_at = now() + :ttl "
                    "WHERE scheduler_lease.expires_at < now() OR scheduler_lease.holder = :me "
                    "RETURNING holder"
                ),
                {"me": self.holder, "ttl": timedelta(seconds=LEASE_SECONDS)},
            ).first()
            if row is not None:
                return None
            current = conn.execute(
                text("SELECT holder FROM scheduler_lease WHERE name = 'run'")
            ).scalar()
            return str(current)

    # -- holding ------------------------------------------------------------------

    def _lock_held(self) -> bool:
        try:
            held = self.lock_conn.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND pid = pg_backend_pid() "
                    "AND ((classid::bigint << 32) | objid::bigint) = :k"
                ),
                {"k": self.key},
            ).scalar()
            self.lock_conn.commit()
            return bool(held)
        except SQLAlchemyError:
            return False  # the lock's connection is gone, and the lock with it

    def _renew(self) -> bool:
        try:
            with self.ws.store.write() as conn:
                done = conn.execute(
                    text(
                        "UPDATE scheduler_lease SET expires_at = now() + :ttl "
                        "WHERE name = 'run' AND holder = :me"
                    ),
                    {"me": self.holder, "ttl": timedelta(seconds=LEASE_SECONDS)},
                ).rowcount
            return bool(done)
        except (StoreError, SQLAlchemyError) as exc:
            # Without a renewed lease a successor may start: run nothing more.
            log.warning("could not renew the scheduler lease: %s", exc)
            return False

    def check(self) -> None:
        with self.mutex:
            if not self.lost.is_set() and not (self._lock_held() and self._renew()):
                self.lost.set()
                log.error(
                    "lost the scheduler lock on %s (its connection ended or another process "
                    "holds it): running no more jobs",
                    self.ws.store.engine.url.render_as_string(hide_password=True),
                )
            if self.lost.is_set():
                raise LockLost(
                    "this `steward run` lost the scheduler lock: it runs no more jobs",
                    hint="start it again; it waits until no other scheduler runs",
                )

    @contextmanager
    def job(self) -> Iterator[None]:
        self.check()
        with self.mutex:
            self.running += 1
        try:
            yield
        finally:
            with self.mutex:
                self.running -= 1

    def _renew_loop(self) -> None:
        while not self.stopped.wait(RENEW_SECONDS):
            with self.mutex:
                busy = self.running > 0
            if self.lost.is_set() and not busy:
                continue  # let the lease run out: a successor may take over
            if not self.lost.is_set() and not self._lock_held():
                self.lost.set()
                log.error("lost the scheduler lock: running no more jobs")
            self._renew()

    def release(self) -> None:
        """Stop renewing and hand the lease back (a successor need not wait)."""
        self.stopped.set()
        if self.renewer.is_alive():
            self.renewer.join()
        try:
            with self.ws.store.write() as conn:
                conn.execute(
                    text("DELETE FROM scheduler_lease WHERE name = 'run' AND holder = :me"),
                    {"me": self.holder},
                )
        except SQLAlchemyError:
            log.warning("could not release the scheduler lease; it expires by itself")
