"""A realistic synthetic federation of three commons, written as source files.

* **toolshed**: a tool library: 30 item types lent as pools, 300 members, busier
  at weekends and in summer, renewals and late returns, a few items retired or
  bought.
* **garden**: a community garden: a rain-fed water tank (stock, with a level
  sensor whose readings reveal a small leak lately) and a seed bank.
* **fund**: a mutual-aid fund: monthly dues and donations in, grants and expenses
  out, with a slow deficit so that a forecast shows it reaching its reserve
  within a few months.

Everything is written as CSV drops (the same files the collectors read), never
straight into the tables, and nothing is dated after the moment the history ends.
Loans carry their due date (the loan period of their item type, twice it when
renewed); some come back late and a few are forgotten for weeks, so the overdue
views have something to show. :func:`append_live` keeps adding rows while the
demo runs, at the history's own pace scaled to the real time elapsed since the
last rows (``live-state.json`` beside the sources remembers when that was, the
loans still out and the tank's level), so a week's trend stays a week's trend.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import numpy as np

if TYPE_CHECKING:
    from steward.collectors.base import RunReport
    from steward.workspace import Workspace

HISTORY_DAYS = 730
SEED = 20261125

FIRST = [
    "Ada",
    "Bo",
    "Cyd",
    "Dev",
    "Eli",
    "Fay",
    "Gus",
    "Hana",
    "Ivo",
    "Jo",
    "Kai",
    "Lea",
    "Mo",
    "Nia",
    "Oli",
    "Pia",
    "Quin",
    "Ray",
    "Sol",
    "Tess",
    "Uma",
    "Vic",
    "Wren",
    "Yan",
    "Zoe",
]
LAST = [
    "Abbott",
    "Baker",
    "Chen",
    "Diaz",
    "Evans",
    "Fox",
    "Garcia",
    "Hill",
    "Ito",
    "Jones",
    "Khan",
    "Lopez",
    "Moss",
    "Nguyen",
    "Okafor",
    "Park",
    "Reyes",
    "Singh",
    "Tran",
    "Weiss",
]

# (slug, name, units, loans per day at the yearly mean, loan days, summer boost)
TOOL_TYPES: list[tuple[str, str, int, float, int, float]] = [
    ("drill-cordless", "Cordless drills", 6, 1.6, 7, 0.3),
    ("circular-saw", "Circular saws", 3, 0.6, 7, 0.4),
    ("jigsaw", "Jigsaws", 2, 0.35, 7, 0.3),
    ("orbital-sander", "Orbital sanders", 3, 0.5, 7, 0.4),
    ("pressure-washer", "Pressure washers", 2, 0.45, 3, 1.6),
    ("tile-saw", "Tile saws", 1, 0.15, 7, 0.5),
    ("ladder-extension", "Extension ladders", 3, 0.5, 7, 0.9),
    ("ladder-orchard", "Orchard ladders", 2, 0.25, 7, 1.8),
    ("lawn-mower", "Push lawn mowers", 3, 0.55, 3, 1.7),
    ("hedge-trimmer", "Hedge trimmers", 2, 0.3, 3, 1.5),
    ("string-trimmer", "String trimmers", 2, 0.35, 3, 1.5),
    ("leaf-blower", "Leaf blowers", 2, 0.25, 3, -0.4),
    ("tiller", "Garden tillers", 1, 0.25, 3, 1.6),
    ("post-hole-digger", "Post hole diggers", 2, 0.12, 7, 0.8),
    ("wheelbarrow", "Wheelbarrows", 4, 0.6, 7, 1.0),
    ("shop-vac", "Shop vacuums", 3, 0.4, 7, 0.1),
    ("carpet-cleaner", "Carpet cleaners", 2, 0.35, 3, -0.3),
    ("dehydrator", "Food dehydrators", 2, 0.15, 14, 0.9),
    ("canning-kit", "Canning kits", 2, 0.18, 14, 1.4),
    ("stud-finder", "Stud finders", 3, 0.2, 7, 0.0),
    ("laser-level", "Laser levels", 2, 0.2, 7, 0.2),
    ("multimeter", "Multimeters", 2, 0.12, 7, 0.0),
    ("router", "Wood routers", 2, 0.15, 7, 0.2),
    ("nail-gun", "Nail guns", 2, 0.25, 7, 0.5),
    ("angle-grinder", "Angle grinders", 2, 0.3, 7, 0.3),
    ("air-compressor", "Air compressors", 2, 0.22, 7, 0.4),
    ("clamps-set", "Clamp sets", 4, 0.3, 14, 0.1),
    ("socket-set", "Socket sets", 3, 0.35, 7, 0.0),
    ("bike-repair-stand", "Bike repair stands", 1, 0.1, 7, 1.2),
    ("projector", "Projectors", 1, 0.12, 3, 0.6),
]

TZ = {"toolshed": "America/Los_Angeles", "garden": "Europe/London", "fund": "America/New_York"}


@dataclass
class Files:
    """Rows to write, by relative path."""

    rows: dict[str, list[dict[str, Any]]]

    def add(self, path: str, row: dict[str, Any]) -> None:
        self.rows.setdefault(path, []).append(row)


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="seconds")


def _names(rng: np.random.Generator, n: int) -> list[str]:
    return [f"{rng.choice(FIRST)} {rng.choice(LAST)}" for _ in range(n)]


def _season(day: date, boost: float) -> float:
    """Yearly multiplier: 1 + boost at midsummer (northern hemisphere), floored in winter."""
    phase = np.cos(2 * np.pi * (day.timetuple().tm_yday - 196) / 365.25)
    return float(max(0.05, 1 + boost * phase))


WEEKDAY = [0.6, 0.6, 0.7, 0.8, 1.1, 1.9, 1.8]  # Monday..Sunday


#: Members who have a demo sign-in (steward.demo_runner.DEMO_ACCOUNTS), by code: their
#: first name is their username, so the name on the pages is the one the demo prints.
ACCOUNT_HOLDERS = {"T0001": "Ada", "G0002": "Bo"}


def _members(
    files: Files, rng: np.random.Generator, commons: str, prefix: str, n: int
) -> list[str]:
    codes = [f"{prefix}{i:04d}" for i in range(1, n + 1)]
    weights = rng.choice([1, 1, 1, 2, 3], size=n)
    for code, name, w in zip(codes, _names(rng, n), weights, strict=True):
        if code in ACCOUNT_HOLDERS:  # after the draw, so the random stream is unchanged
            name = f"{ACCOUNT_HOLDERS[code]} {name.split(' ', 1)[1]}"
        files.add(
            f"sources/{commons}/members.csv",
            {
                "commons": commons,
                "code": code,
                "name": name,
                "email": f"{code.lower()}@members.example.org",
                "weight": int(w),
            },
        )
    return codes


def _local(
    day: date, tz: str, rng: np.random.Generator, start_h: int = 9, end_h: int = 19
) -> datetime:
    minutes = int(rng.integers(start_h * 60, end_h * 60))
    return datetime(day.year, day.month, day.day, minutes // 60, minutes % 60, tzinfo=ZoneInfo(tz))


#: Chance that a loan is forgotten: returned 25 to 120 days after it was due.
FORGOTTEN = 0.005


def toolshed(
    files: Files,
    rng: np.random.Generator,
    start: date,
    today: date,
    now: datetime,
    live: LiveState | None = None,
    extra: np.random.Generator | None = None,
) -> None:
    """The tool library's members, inventory and loans; loans still out go to ``live``.

    ``extra`` draws the forgotten loans (a stream of its own, so the main stream's
    draws stay as they were).
    """
    tz = TZ["toolshed"]
    extra = extra or np.random.default_rng(SEED + 1)
    members = _members(files, rng, "toolshed", "T", 300)
    activity = rng.pareto(1.5, size=len(members)) + 0.2  # a few heavy borrowers
    activity /= activity.sum()
    if live is not None:
        live.activity = [float(a) for a in activity]
    loan_no = 0
    for slug, _name, units, rate, days, boost in TOOL_TYPES:
        free_at: list[datetime] = [
            datetime.combine(start, datetime.min.time(), ZoneInfo(tz))
        ] * units
        # Capacity history: initial units before the window; one bought, one retired on some.
        files.add(
            "sources/toolshed/capacity.csv",
            {
                "external_id": f"{slug}-initial",
                "resource": slug,
                "delta": units,
                "effective_at": _iso(
                    datetime.combine(start - timedelta(days=30), datetime.min.time(), UTC)
                ),
                "note": "initial inventory",
            },
        )
        changes: list[tuple[date, int, str]] = []
        if units >= 3 and rng.random() < 0.4:
            changes.append(
                (start + timedelta(days=int(rng.integers(200, 600))), -1, "retired: worn out")
            )
        if rate / units > 0.15 and rng.random() < 0.5:
            changes.append(
                (start + timedelta(days=int(rng.integers(300, 650))), 1, "bought one more")
            )
        # A shorter history than the usual two years ends before some changes: no
        # change is dated after the history's end.
        changes = [c for c in changes if c[0] < today]
        for i, (when, delta, note) in enumerate(changes):
            files.add(
                "sources/toolshed/capacity.csv",
                {
                    "external_id": f"{slug}-change-{i}",
                    "resource": slug,
                    "delta": delta,
                    "effective_at": _iso(_local(when, tz, rng)),
                    "note": note,
                },
            )
        day = start
        while day <= today:
            cap_delta = sum(d for when, d, _ in changes if when <= day)
            capacity = units + cap_delta
            if capacity < len(free_at):
                free_at = sorted(free_at)[: max(capacity, 0)]
            elif capacity > len(free_at):
                free_at += [datetime.combine(day, datetime.min.time(), ZoneInfo(tz))] * (
                    capacity - len(free_at)
                )
            lam = rate * WEEKDAY[day.weekday()] * _season(day, boost)
            for _ in range(int(rng.poisson(lam))):
                out = _local(day, tz, rng)
                if out > now:
                    continue
                slot = min(range(len(free_at)), key=free_at.__getitem__) if free_at else -1
                if slot < 0 or free_at[slot] > out:
                    continue  # every unit is out: unmet demand is not in the ledger
                loan_no += 1
                ref = f"L{loan_no:06d}"
                member = members[int(rng.choice(len(members), p=activity))]
                length = days + (int(rng.integers(1, 10)) if rng.random() < 0.15 else 0)
                allowed = days
                if rng.random() < 0.1:
                    length += days  # renewed once: the same loan, extended
                    allowed += days
                if extra.random() < FORGOTTEN:
                    length = allowed + int(extra.integers(25, 121))
                back = _local(day + timedelta(days=length), tz, rng, 10, 18)
                files.add(
                    "sources/toolshed/loans.csv",
                    {
                        "external_id": f"{ref}-out",
                        "resource": slug,
                        "kind": "use",
                        "quantity": 1,
                        "occurred_at": _iso(out),
                        "member": member,
                        "loan_ref": ref,
                        "due_at": _iso(_due(out, allowed, tz)),
                    },
                )
                if back > now and live is not None:
                    live.open_loans.append(
                        {"ref": ref, "resource": slug, "member": member, "back": _iso(back)}
                    )
                if back <= now:
                    files.add(
                        "sources/toolshed/loans.csv",
                        {
                            "external_id": f"{ref}-in",
                            "resource": slug,
                            "kind": "replenish",
                            "quantity": 1,
                            "occurred_at": _iso(back),
                            "member": member,
                            "loan_ref": ref,
                        },
                    )
                free_at[slot] = back
            day += timedelta(days=1)
        if live is not None:
            live.capacity[slug] = len(free_at)


LEAK_LITRES = 900.0


def garden(
    files: Files,
    rng: np.random.Generator,
    start: date,
    today: date,
    now: datetime,
    live: LiveState | None = None,
) -> None:
    """The garden's members, water tank (use, rain, nightly readings) and seed bank."""
    tz = TZ["garden"]
    members = _members(files, rng, "garden", "G", 60)
    capacity = 10_000.0
    level = 7_000.0
    sensor_offset = 0.0
    seeds = 400
    day = start
    while day <= today:
        summer = _season(day, 1.0)
        rain_p = 0.55 - 0.3 * (summer - 1) / 1.0
        if rng.random() < max(rain_p, 0.08):
            inflow = float(rng.gamma(2.0, 260.0 / max(summer, 0.5)))
            inflow = min(inflow, capacity - level)
            rain_t = _local(day, tz, rng, 0, 6) if inflow >= 1 else now
            if inflow >= 1 and rain_t <= now:
                files.add(
                    "sources/garden/water.csv",
                    {
                        "external_id": f"rain-{day.isoformat()}",
                        "resource": "water-tank",
                        "kind": "replenish",
                        "quantity": round(inflow, 1),
                        "occurred_at": _iso(rain_t),
                        "member": "",
                        "loan_ref": "",
                    },
                )
                level += round(inflow, 1)
        visits = rng.poisson(2.2 * summer * WEEKDAY[day.weekday()])
        for v in range(int(visits)):
            t = _local(day, tz, rng, 7, 20)
            if t > now:
                continue
            litres = round(float(rng.gamma(3.0, 12.0 * summer)), 1)
            litres = min(litres, max(level - 50.0, 0.0))
            if litres < 1:
                continue
            files.add(
                "sources/garden/water.csv",
                {
                    "external_id": f"water-{day.isoformat()}-{v}",
                    "resource": "water-tank",
                    "kind": "use",
                    "quantity": litres,
                    "occurred_at": _iso(t),
                    "member": members[int(rng.integers(len(members)))],
                    "loan_ref": "",
                },
            )
            level -= litres
        reading_t = _local(day, tz, rng, 21, 22)
        if day == today - timedelta(days=1):
            # Last night a tap was left open: water left with no record, so the last
            # reading is well below the ledger (a reconciliation drift to alert on).
            sensor_offset += min(LEAK_LITRES, level)
        if day < today:  # the sensor reports nightly; tonight's is not in yet
            files.add(
                "sources/garden/tank-readings.csv",
                {
                    "external_id": f"tank-{day.isoformat()}",
                    "resource": "water-tank",
                    "value": round(max(level - sensor_offset + float(rng.normal(0, 8)), 0.0), 1),
                    "observed_at": _iso(reading_t),
                },
            )
        # Seed bank: sown in spring, saved in autumn.
        month = day.month
        if month in (3, 4, 5) and rng.random() < 0.5:
            k = int(rng.integers(1, 6))
            seed_t = _local(day, tz, rng) if seeds - k > 0 else now
            if seeds - k > 0 and seed_t <= now:
                seeds -= k
                files.add(
                    "sources/garden/seeds.csv",
                    {
                        "external_id": f"seed-use-{day.isoformat()}",
                        "resource": "seed-bank",
                        "kind": "use",
                        "quantity": k,
                        "occurred_at": _iso(seed_t),
                        "member": members[int(rng.integers(len(members)))],
                        "loan_ref": "",
                    },
                )
        if month in (9, 10) and rng.random() < 0.3:
            k = int(rng.integers(5, 25))
            save_t = _local(day, tz, rng)
            member = members[int(rng.integers(len(members)))]
            if save_t > now:
                day += timedelta(days=1)
                continue
            seeds += k
            files.add(
                "sources/garden/seeds.csv",
                {
                    "external_id": f"seed-save-{day.isoformat()}",
                    "resource": "seed-bank",
                    "kind": "replenish",
                    "quantity": k,
                    "occurred_at": _iso(save_t),
                    "member": member,
                    "loan_ref": "",
                },
            )
        day += timedelta(days=1)
    if live is not None:
        live.tank_level = level
        live.sensor_offset = sensor_offset
        live.seeds = seeds


FUND_START = 9_000.0
FUND_NOW = 3_200.0
# Dues and small gifts come in steadily; grants go out faster than that, and the
# gap widens as need grows. The recent drain is large next to the weekly noise,
# so the fund's story (heading below its reserve within the forecast horizon)
# holds whatever day the demo is built on.
DUES = 15.0
DUES_PAYING = 0.7
GIFTS = (20.0, 40.0, 75.0)
GIFT_CHANCE = 0.15  # per day
EXPENSE = 85.0
GRANT_MEAN = 25.0


def _fund_row(
    external_id: str, kind: str, quantity: float, t: datetime, member: str = ""
) -> dict[str, str]:
    return {
        "external_id": external_id,
        "resource": "mutual-aid-fund",
        "kind": kind,
        "quantity": f"{quantity:.2f}",
        "occurred_at": _iso(t),
        "member": member,
        "loan_ref": "",
    }


def fund(
    files: Files,
    rng: np.random.Generator,
    start: date,
    today: date,
    now: datetime,
    live: LiveState | None = None,
) -> None:
    """The fund's members, dues, donations, expenses and grants (nothing after ``now``)."""
    tz = TZ["fund"]
    members = _members(files, rng, "fund", "F", 120)
    day = start
    total_days = (today - start).days
    balance = FUND_START
    dues_per_year = len(members) * DUES_PAYING * DUES * 12
    inflow_per_day = (dues_per_year - EXPENSE * 12) / 365 + GIFT_CHANCE * float(np.mean(GIFTS))
    # The planned balance falls as progress**2: slowly at first, faster lately.
    planned_drop = FUND_START - FUND_NOW
    while day <= today:
        t = _local(day, tz, rng)
        month_file = f"sources/fund/transactions-{day:%Y-%m}.csv"
        rows: list[dict[str, str]] = []
        if day.day == 1:
            payers = rng.random(len(members)) < DUES_PAYING
            for code in np.array(members)[payers]:
                balance += DUES
                rows.append(_fund_row(f"dues-{day:%Y-%m}-{code}", "replenish", DUES, t, str(code)))
        if rng.random() < GIFT_CHANCE:
            gift = float(rng.choice(GIFTS))
            balance += gift
            rows.append(_fund_row(f"donation-{day.isoformat()}", "replenish", gift, t))
        if day.day == 15:
            balance -= EXPENSE
            rows.append(_fund_row(f"expense-{day:%Y-%m}", "use", EXPENSE, t))
        # Grants are what comes in plus the planned drain; a gentle pull back to the
        # planned path keeps the balance ending near FUND_NOW.
        progress = (day - start).days / max(total_days, 1)
        target = FUND_START - planned_drop * progress**2
        drain = 2 * planned_drop * progress / max(total_days, 1)
        need = (inflow_per_day + drain) * float(np.clip(1 + (balance - target) / 1000, 0.5, 1.5))
        count = int(rng.poisson(need / GRANT_MEAN))
        for k in range(count):
            grant = round(float(rng.gamma(6.0, GRANT_MEAN / 6.0)), 2)
            balance -= grant
            member = members[int(rng.integers(len(members)))]
            rows.append(_fund_row(f"grant-{day.isoformat()}-{k}", "use", grant, t, member))
        if t <= now:  # today's rows after this moment have not happened yet
            for row in rows:
                files.add(month_file, row)
        if live is not None:  # the planned pace (the pull's daily correction left out)
            live.grants_per_day = (inflow_per_day + drain) / GRANT_MEAN
        day += timedelta(days=1)


COLUMNS = {
    "members.csv": ["commons", "code", "name", "email", "weight"],
    "capacity.csv": ["external_id", "resource", "delta", "effective_at", "note"],
    "tank-readings.csv": ["external_id", "resource", "value", "observed_at"],
}
EVENT_COLUMNS = ["external_id", "resource", "kind", "quantity", "occurred_at", "member", "loan_ref"]
# A loan's checkout row carries its due date (empty on returns).
COLUMNS["loans.csv"] = [*EVENT_COLUMNS, "due_at"]


def write(files: Files, root: Path, *, append: bool = False) -> None:
    for rel, rows in sorted(files.rows.items()):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        columns = COLUMNS.get(path.name, EVENT_COLUMNS)
        new = not path.exists() or not append
        with path.open("a" if append else "w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            if new:
                writer.writeheader()
            writer.writerows(rows)


def generate(
    root: Path, *, now: datetime | None = None, days: int = HISTORY_DAYS, seed: int = SEED
) -> Path:
    """Write the federation's source files under ``root``; returns the config path.

    Nothing is dated after ``now`` (default: the current time). Also writes
    ``live-state.json``, where :func:`append_live` continues from.
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    rng = np.random.default_rng(seed)
    today = now.date()
    start = today - timedelta(days=days)
    files = Files({})
    live = LiveState(last=now)
    toolshed(files, rng, start, today, now, live, np.random.default_rng([seed, 1]))
    garden(files, rng, start, today, now, live)
    fund(files, rng, start, today, now, live)
    write(files, root)
    live.save(root)
    config = root / "steward.yaml"
    config.write_text(demo_config(), encoding="utf-8")
    return config


def demo_config() -> str:
    template = Path(__file__).resolve().parents[1] / "config" / "demo.yaml"
    if template.exists():
        return template.read_text(encoding="utf-8")
    from importlib.resources import files as package_files

    return (package_files("steward") / "demo.yaml").read_text(encoding="utf-8")


def _due(out: datetime, days: int, tz: str) -> datetime:
    """Due back by the end of the local day ``days`` after checkout (a library's terms)."""
    local = out.astimezone(ZoneInfo(tz)).date() + timedelta(days=days + 1)
    return datetime(local.year, local.month, local.day, tzinfo=ZoneInfo(tz))


LIVE_STATE = "live-state.json"
#: When no state says when the last rows were written: one tick of the demo runner.
LIVE_FALLBACK = timedelta(seconds=20)


@dataclass
class LiveState:
    """Where the live simulator left off (``live-state.json`` in the demo's folder).

    ``last``: the moment up to which rows were written; ``open_loans``: loans still
    out (``ref``, ``resource``, ``member``, ``back``: when the member returns it);
    ``capacity``: units per tool type; ``activity``: each toolshed member's share
    of loans; the tank's level and sensor offset (litres), seed packets in the bank,
    and the fund's grants per day (its pace as the history ends).
    """

    last: datetime
    seq: int = 0
    open_loans: list[dict[str, str]] = field(default_factory=list)
    capacity: dict[str, int] = field(default_factory=dict)
    activity: list[float] = field(default_factory=list)
    tank_level: float = 7_000.0
    sensor_offset: float = 0.0
    seeds: int = 400
    grants_per_day: float = 1.5

    def save(self, root: Path) -> None:
        data = {**self.__dict__, "last": _iso(self.last)}
        (root / LIVE_STATE).write_text(json.dumps(data), encoding="utf-8")

    @classmethod
    def load(cls, root: Path, now: datetime) -> LiveState:
        """The saved state; without one, a fresh state ending one runner tick before ``now``."""
        path = root / LIVE_STATE
        if not path.exists():
            return cls(last=now - LIVE_FALLBACK)
        data = json.loads(path.read_text(encoding="utf-8"))
        data["last"] = datetime.fromisoformat(data["last"])
        return cls(**data)


def _local_days(start: datetime, end: datetime, tz: str) -> list[date]:
    """The local dates that the interval (start, end] touches."""
    a, b = start.astimezone(ZoneInfo(tz)).date(), end.astimezone(ZoneInfo(tz)).date()
    return [a + timedelta(days=i) for i in range((b - a).days + 1)]


def _at(day: date, hour: int, minute: int, tz: str) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(tz))


def append_live(root: Path, rng: np.random.Generator, now: datetime, tick: int) -> int:
    """Append the rows of the commons' use since the last call, as if it were happening now.

    The rows follow the history's own pace, scaled to the real time elapsed since
    the rows last written (``live-state.json``; without it, one runner tick): per
    day, the same loan rate per tool type (weekday and season included), the same
    watering visits, rain, seed use and grants. Every row is dated within that
    interval, so never after ``now``; loans are checked out with their due date and
    returned when their loan ends. Returns the number of rows added.
    """
    now = now.astimezone(UTC)
    state = LiveState.load(root, now)
    if now <= state.last:
        return 0
    live = _Tick(Files({}), rng, state, state.last, now, f"live-{now:%Y%m%dT%H%M%S}-{tick}")
    _live_loans(live)
    _live_garden(live)
    _live_fund(live)
    write(live.files, root, append=True)
    state.last = now
    state.save(root)
    return sum(len(r) for r in live.files.rows.values())


@dataclass
class _Tick:
    """One call of :func:`append_live`: the interval (start, now] its rows fall in.

    ``span`` is the interval in days; :meth:`when` draws a moment in it and
    :meth:`ref` the next unique row reference (``key``-``seq``).
    """

    files: Files
    rng: np.random.Generator
    state: LiveState
    start: datetime
    now: datetime
    key: str

    @property
    def span(self) -> float:
        return (self.now - self.start) / timedelta(days=1)

    def when(self) -> datetime:
        return self.start + (self.now - self.start) * float(1.0 - self.rng.random())

    def ref(self) -> str:
        self.state.seq += 1
        return f"{self.key}-{self.state.seq}"


def _loan_row(
    ref: str, slug: str, kind: str, at: datetime, member: str, due: str
) -> dict[str, Any]:
    return {
        "external_id": f"{ref}-{'out' if kind == 'use' else 'in'}",
        "resource": slug,
        "kind": kind,
        "quantity": 1,
        "occurred_at": _iso(at),
        "member": member,
        "loan_ref": ref,
        "due_at": due,
    }


def _live_loans(live: _Tick) -> None:
    """Returns of loans whose end has come, then new loans at each tool type's rate."""
    tz = TZ["toolshed"]
    still_out = []
    for loan in live.state.open_loans:
        back = datetime.fromisoformat(loan["back"])
        if back <= live.now:
            live.files.add(
                "sources/toolshed/loans.csv",
                _loan_row(loan["ref"], loan["resource"], "replenish", back, loan["member"], ""),
            )
        else:
            still_out.append(loan)
    live.state.open_loans = still_out
    local = live.now.astimezone(ZoneInfo(tz))
    members = [f"T{i:04d}" for i in range(1, 301)]
    weights = np.asarray(live.state.activity or [1.0] * len(members), dtype=float)
    weights = weights / weights.sum()
    for slug, _name, units, rate, days, boost in TOOL_TYPES:
        lam = rate * WEEKDAY[local.weekday()] * _season(local.date(), boost) * live.span
        for _ in range(int(live.rng.poisson(lam))):
            out_count = sum(1 for loan in live.state.open_loans if loan["resource"] == slug)
            if out_count >= live.state.capacity.get(slug, units):
                continue  # every unit is out: unmet demand is not in the ledger
            out = live.when()
            loan_ref = live.ref()
            member = members[int(live.rng.choice(len(members), p=weights))]
            length = days + (int(live.rng.integers(1, 10)) if live.rng.random() < 0.15 else 0)
            allowed = days
            if live.rng.random() < 0.1:
                length += days
                allowed += days
            back = out + timedelta(days=length)
            live.files.add(
                "sources/toolshed/loans.csv",
                _loan_row(loan_ref, slug, "use", out, member, _iso(_due(out, allowed, tz))),
            )
            live.state.open_loans.append(
                {"ref": loan_ref, "resource": slug, "member": member, "back": _iso(back)}
            )


def _live_garden(live: _Tick) -> None:
    """Watering, rain and seed use at the history's daily rates; the nightly tank reading."""
    tz = TZ["garden"]
    local = live.now.astimezone(ZoneInfo(tz))
    summer = _season(local.date(), 1.0)
    rain_p = max(0.55 - 0.3 * (summer - 1), 0.08)
    if live.rng.random() < rain_p * live.span:
        inflow = min(
            float(live.rng.gamma(2.0, 260.0 / max(summer, 0.5))), 10_000.0 - live.state.tank_level
        )
        if inflow >= 1:
            live.files.add(
                "sources/garden/water.csv",
                {
                    "external_id": f"{live.ref()}-rain",
                    "resource": "water-tank",
                    "kind": "replenish",
                    "quantity": round(inflow, 1),
                    "occurred_at": _iso(live.when()),
                    "member": "",
                    "loan_ref": "",
                },
            )
            live.state.tank_level += round(inflow, 1)
    for _ in range(int(live.rng.poisson(2.2 * summer * WEEKDAY[local.weekday()] * live.span))):
        litres = round(float(live.rng.gamma(3.0, 12.0 * summer)), 1)
        litres = min(litres, max(live.state.tank_level - 50.0, 0.0))
        if litres < 1:
            continue
        live.files.add(
            "sources/garden/water.csv",
            {
                "external_id": f"{live.ref()}-water",
                "resource": "water-tank",
                "kind": "use",
                "quantity": litres,
                "occurred_at": _iso(live.when()),
                "member": f"G{int(live.rng.integers(1, 61)):04d}",
                "loan_ref": "",
            },
        )
        live.state.tank_level -= litres
    for day in _local_days(live.start, live.now, tz):
        # The sensor reports nightly at 21:30, as in the history.
        at = _at(day, 21, 30, tz)
        if live.start < at <= live.now:
            value = live.state.tank_level - live.state.sensor_offset + float(live.rng.normal(0, 8))
            live.files.add(
                "sources/garden/tank-readings.csv",
                {
                    "external_id": f"tank-{day.isoformat()}",
                    "resource": "water-tank",
                    "value": round(max(value, 0.0), 1),
                    "observed_at": _iso(at),
                },
            )
    if local.month in (3, 4, 5) and live.rng.random() < 0.5 * live.span:
        k = int(live.rng.integers(1, 6))
        if live.state.seeds - k > 0:
            live.state.seeds -= k
            live.files.add(
                "sources/garden/seeds.csv",
                {
                    "external_id": f"{live.ref()}-seeds",
                    "resource": "seed-bank",
                    "kind": "use",
                    "quantity": k,
                    "occurred_at": _iso(live.when()),
                    "member": f"G{int(live.rng.integers(1, 61)):04d}",
                    "loan_ref": "",
                },
            )


def _live_fund(live: _Tick) -> None:
    """Grants and donations at the history's closing pace; dues on the 1st, expenses on the 15th."""
    tz = TZ["fund"]
    rows: list[tuple[datetime, dict[str, str]]] = []
    for day in _local_days(live.start, live.now, tz):
        at = _at(day, 9, 0, tz)
        if not live.start < at <= live.now:
            continue
        if day.day == 1:
            payers = live.rng.random(120) < DUES_PAYING
            for i in np.flatnonzero(payers):
                code = f"F{i + 1:04d}"
                rows.append(
                    (at, _fund_row(f"dues-{day:%Y-%m}-{code}", "replenish", DUES, at, code))
                )
        if day.day == 15:
            rows.append((at, _fund_row(f"expense-{day:%Y-%m}", "use", EXPENSE, at)))
    if live.rng.random() < GIFT_CHANCE * live.span:
        t = live.when()
        gift = float(live.rng.choice(GIFTS))
        rows.append((t, _fund_row(f"{live.ref()}-donation", "replenish", gift, t)))
    for _ in range(int(live.rng.poisson(live.state.grants_per_day * live.span))):
        t = live.when()
        grant = round(float(live.rng.gamma(6.0, GRANT_MEAN / 6.0)), 2)
        member = f"F{int(live.rng.integers(1, 121)):04d}"
        rows.append((t, _fund_row(f"{live.ref()}-grant", "use", grant, t, member)))
    for t, row in rows:
        month = t.astimezone(ZoneInfo(tz))
        live.files.add(f"sources/fund/transactions-{month:%Y-%m}.csv", row)


def ingest(
    ws: Workspace,
    *,
    on_report: Callable[[RunReport], None] | None = None,
    now: datetime | None = None,
) -> list[RunReport]:
    """Run every configured collector once, in config order (members before their events).

    ``now``: the moment the demo was generated at (default the clock); rows up to it
    are not future-dated even when it is ahead of the clock.
    """
    from steward.collectors.base import run

    reports = []
    for collector in ws.settings.collectors:
        report = run(ws, collector.name, now=now)
        reports.append(report)
        if on_report:
            on_report(report)
    return reports
