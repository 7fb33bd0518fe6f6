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
straight into the tables. :func:`append_live` keeps adding rows while the demo
runs, so the numbers move.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
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


def toolshed(
    files: Files, rng: np.random.Generator, start: date, today: date, now: datetime
) -> None:
    tz = TZ["toolshed"]
    members = _members(files, rng, "toolshed", "T", 300)
    activity = rng.pareto(1.5, size=len(members)) + 0.2  # a few heavy borrowers
    activity /= activity.sum()
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
                if rng.random() < 0.1:
                    length += days  # renewed once: the same loan, extended
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
                    },
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


LEAK_LITRES = 900.0


def garden(files: Files, rng: np.random.Generator, start: date, today: date, now: datetime) -> None:
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
            if inflow >= 1:
                files.add(
                    "sources/garden/water.csv",
                    {
                        "external_id": f"rain-{day.isoformat()}",
                        "resource": "water-tank",
                        "kind": "replenish",
                        "quantity": round(inflow, 1),
                        "occurred_at": _iso(_local(day, tz, rng, 0, 6)),
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
            if seeds - k > 0:
                seeds -= k
                files.add(
                    "sources/garden/seeds.csv",
                    {
                        "external_id": f"seed-use-{day.isoformat()}",
                        "resource": "seed-bank",
                        "kind": "use",
                        "quantity": k,
                        "occurred_at": _iso(_local(day, tz, rng)),
                        "member": members[int(rng.integers(len(members)))],
                        "loan_ref": "",
                    },
                )
        if month in (9, 10) and rng.random() < 0.3:
            k = int(rng.integers(5, 25))
            seeds += k
            files.add(
                "sources/garden/seeds.csv",
                {
                    "external_id": f"seed-save-{day.isoformat()}",
                    "resource": "seed-bank",
                    "kind": "replenish",
                    "quantity": k,
                    "occurred_at": _iso(_local(day, tz, rng)),
                    "member": members[int(rng.integers(len(members)))],
                    "loan_ref": "",
                },
            )
        day += timedelta(days=1)


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


def fund(files: Files, rng: np.random.Generator, start: date, today: date, now: datetime) -> None:
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
        for row in rows:
            files.add(month_file, row)
        day += timedelta(days=1)


COLUMNS = {
    "members.csv": ["commons", "code", "name", "email", "weight"],
    "capacity.csv": ["external_id", "resource", "delta", "effective_at", "note"],
    "tank-readings.csv": ["external_id", "resource", "value", "observed_at"],
}
EVENT_COLUMNS = ["external_id", "resource", "kind", "quantity", "occurred_at", "member", "loan_ref"]


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
    """Write the federation's source files under ``root``; returns the config path."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    rng = np.random.default_rng(seed)
    today = now.date()
    start = today - timedelta(days=days)
    files = Files({})
    toolshed(files, rng, start, today, now)
    garden(files, rng, start, today, now)
    fund(files, rng, start, today, now)
    write(files, root)
    config = root / "steward.yaml"
    config.write_text(demo_config(), encoding="utf-8")
    return config


def demo_config() -> str:
    template = Path(__file__).resolve().parents[1] / "config" / "demo.yaml"
    if template.exists():
        return template.read_text(encoding="utf-8")
    from importlib.resources import files as package_files

    return (package_files("steward") / "demo.yaml").read_text(encoding="utf-8")


def append_live(root: Path, rng: np.random.Generator, now: datetime, tick: int) -> int:
    """Append a few new rows as if the commons were in use right now; returns rows added."""
    files = Files({})
    stamp = _iso(now)
    key = f"live-{now:%Y%m%dT%H%M%S}-{tick}"
    slug, *_ = TOOL_TYPES[int(rng.integers(len(TOOL_TYPES)))]
    member = f"T{int(rng.integers(1, 301)):04d}"
    # A short loan that was just returned: checked out two hours ago, back now.
    for suffix, kind, at in (("out", "use", now - timedelta(hours=2)), ("in", "replenish", now)):
        files.add(
            "sources/toolshed/loans.csv",
            {
                "external_id": f"{key}-{suffix}",
                "resource": slug,
                "kind": kind,
                "quantity": 1,
                "occurred_at": _iso(at),
                "member": member,
                "loan_ref": key,
            },
        )
    files.add(
        "sources/garden/water.csv",
        {
            "external_id": f"{key}-water",
            "resource": "water-tank",
            "kind": "use",
            "quantity": round(float(rng.gamma(3.0, 15.0)), 1),
            "occurred_at": stamp,
            "member": f"G{int(rng.integers(1, 61)):04d}",
            "loan_ref": "",
        },
    )
    if rng.random() < 0.5:
        files.add(
            f"sources/fund/transactions-{now:%Y-%m}.csv",
            {
                "external_id": f"{key}-grant",
                "resource": "mutual-aid-fund",
                "kind": "use",
                "quantity": f"{float(rng.gamma(3.0, 40.0)):.2f}",
                "occurred_at": stamp,
                "member": f"F{int(rng.integers(1, 121)):04d}",
                "loan_ref": "",
            },
        )
    write(files, root, append=True)
    return sum(len(r) for r in files.rows.values())


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
