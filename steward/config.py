"""Typed configuration: one YAML file, validated by pydantic, with env interpolation.

Loading order: read YAML -> replace ``${VAR}`` / ``${VAR:-default}`` from the
environment (so secrets never live in the file) -> apply ``STEWARD_*`` overrides
listed in :data:`SETTINGS` -> validate. Every error names the file, the key path
and what was expected.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from steward.cron import apscheduler_crontab
from steward.errors import ConfigError

DEFAULT_CONFIG = Path("config/steward.yaml")
SLUG = r"^[a-z0-9][a-z0-9._-]*$"


@dataclass(frozen=True)
class Setting:
    """A setting that can be overridden from the environment."""

    env: str
    path: tuple[str, ...]
    default: Any
    help: str


#: Every STEWARD_* override, declared once; the README documents each (tested).
SETTINGS: tuple[Setting, ...] = (
    Setting("STEWARD_CONFIG", (), str(DEFAULT_CONFIG), "Path of the YAML configuration file."),
    Setting(
        "STEWARD_DATABASE_URL",
        ("database", "url"),
        "sqlite:///steward.db",
        "Database URL: sqlite:///relative/or/absolute.db or postgresql+psycopg://user@host/db.",
    ),
    Setting(
        "STEWARD_FORECAST_EXECUTOR",
        ("forecast", "executor"),
        None,
        "Dask scheduler address (tcp://host:8786) to run forecasts on a cluster; unset = local processes.",
    ),
    Setting(
        "STEWARD_FORECAST_WORKERS",
        ("forecast", "workers"),
        None,
        "Local forecasting processes; unset = all cores.",
    ),
    Setting(
        "STEWARD_DASHBOARD_PORT", ("dashboard", "port"), 8501, "Port the dashboard listens on."
    ),
    Setting(
        "STEWARD_LOG_LEVEL", ("logging", "level"), "INFO", "Log level: DEBUG, INFO, WARNING, ERROR."
    ),
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Slug = Annotated[str, Field(pattern=SLUG, max_length=64)]
NonNegative = Annotated[Decimal, Field(ge=0)]


class DatabaseConfig(Strict):
    url: str = "sqlite:///steward.db"


class LoggingConfig(Strict):
    """``level``: the root level; ``quiet``: loggers held at WARNING whatever the level,
    e.g. ``[steward.alerts.delivery]`` where something else already shows each send."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    quiet: tuple[str, ...] = ()

    def apply(self) -> None:
        """Set the root logger's level and hold the ``quiet`` loggers at WARNING."""
        logging.getLogger().setLevel(self.level)
        for name in self.quiet:
            logging.getLogger(name).setLevel(logging.WARNING)


class Schedule(Strict):
    """Either an interval (``every: 15m``) or a cron expression (``cron: "0 6 * * *"``)."""

    every: str | None = Field(default=None, pattern=r"^\d+\s*[smhd]$")
    cron: str | None = None

    @model_validator(mode="after")
    def _one_of(self) -> Schedule:
        if (self.every is None) == (self.cron is None):
            raise ValueError("give exactly one of 'every' (e.g. 15m) or 'cron' (e.g. '0 6 * * *')")
        if self.cron is not None:
            try:
                apscheduler_crontab(self.cron)
            except ConfigError as exc:
                raise ValueError(
                    f"{exc.message}; {exc.hint}" if exc.hint else exc.message
                ) from None
        return self

    @property
    def seconds(self) -> int | None:
        if self.every is None:
            return None
        value, unit = int(self.every[:-1]), self.every[-1]
        return value * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]


class QuotaPolicyConfig(Strict):
    policy: Literal["equal", "weighted", "max_min_fair"] = "equal"
    period: Literal["week", "month"] = "month"
    #: Stock: keep P(level below reserve by the horizon's end) under this.
    risk_target: float = Field(default=0.1, gt=0, lt=1)
    #: Pool: share of unit-days members may book, so waiting lists stay short.
    utilisation: float = Field(default=0.8, gt=0, le=1)
    floor: NonNegative | None = None
    cap: NonNegative | None = None

    @model_validator(mode="after")
    def _floor_below_cap(self) -> QuotaPolicyConfig:
        if self.floor is not None and self.cap is not None and self.floor > self.cap:
            raise ValueError(f"floor ({self.floor}) is above cap ({self.cap})")
        return self


class ResourceConfig(Strict):
    slug: Slug
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["stock", "pool"]
    unit: str = Field(default="units", min_length=1, max_length=32)
    capacity: NonNegative | None = None
    reserve: NonNegative | None = None
    initial_level: Decimal = Decimal(0)
    quota: QuotaPolicyConfig | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> ResourceConfig:
        if self.reserve is not None and self.capacity is not None and self.reserve > self.capacity:
            raise ValueError(
                f"reserve ({self.reserve}) is above capacity ({self.capacity}); "
                "lower the reserve or raise the capacity"
            )
        if self.kind == "pool" and self.reserve is not None:
            raise ValueError("a pool has no reserve (it lends units); use capacity instead")
        return self


class CommonsConfig(Strict):
    slug: Slug
    name: str = Field(min_length=1, max_length=200)
    timezone: str = "UTC"
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    resources: list[ResourceConfig] = Field(default_factory=list)
    #: The first day (in ``timezone``) this commons' records may carry; rows dated
    #: earlier are quarantined. Unset: 2000-01-01 (steward.ledger.DEFAULT_HISTORY_STARTS).
    history_starts: date | None = None
    #: How many days ahead of now a planned (``scheduled``) row may lie; further ones
    #: are quarantined. Unset: 730, the longest forecast horizon
    #: (steward.ledger.DEFAULT_PLANS_AHEAD_DAYS).
    plans_ahead_days: int | None = Field(default=None, ge=1, le=36500)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown timezone {value!r}; use an IANA name like Europe/Paris"
            ) from None
        return value


class MembersImport(Strict):
    """Members loaded from a CSV (code, name, email, weight, external ids)."""

    commons: Slug
    path: str
    source: str = "members"


class CollectorConfig(BaseModel):
    """A collector; options beyond these are the collector kind's own (validated there)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    name: Slug
    kind: str = Field(min_length=1)
    commons: Slug | None = None
    schedule: Schedule = Schedule(every="15m")
    enabled: bool = True

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class ForecastConfig(Strict):
    horizon_days: int = Field(default=90, ge=7, le=730)
    schedule: Schedule = Schedule(every="1h")
    executor: str | None = None
    workers: int | None = Field(default=None, ge=1)
    #: Simulated paths per resource for the risk figures.
    paths: int = Field(default=1000, ge=100, le=20000)
    #: A resource whose data have not changed is forecast again once its last run is this old.
    max_age_hours: float = Field(default=24, gt=0, le=24 * 31)
    #: When the scheduler backtests the published risk figures (``steward calibrate``);
    #: weekly, Sunday 03:00 in the commons' time.
    calibration_schedule: Schedule = Schedule(cron="0 3 * * 0")


Severity = Literal["info", "warning", "critical"]
DEFAULT_SEVERITIES: tuple[Severity, ...] = ("warning", "critical")


class RouteConfig(Strict):
    name: Slug
    urls: list[str] = Field(min_length=1)
    #: The one commons whose alerts this route carries (see Settings._scope_to_commons).
    commons: Slug | None = None
    audience: Literal["stewards", "members"] = "stewards"
    severities: list[Severity] = Field(default_factory=lambda: list(DEFAULT_SEVERITIES))
    #: At most this many messages per rolling 24 hours; past it, a digest (None: no limit).
    max_per_day: int | None = Field(default=None, ge=1)


class AlertsConfig(Strict):
    routes: list[RouteConfig] = Field(default_factory=list)
    rules: dict[str, dict[str, Any]] = Field(default_factory=dict)


class DashboardConfig(Strict):
    port: int = Field(default=8501, ge=1, le=65535)
    refresh_seconds: int = Field(default=30, ge=5)
    #: k: public figures need changes from at least this many members (30 days).
    public_min_members: int = Field(default=5, ge=1)


class Settings(Strict):
    database: DatabaseConfig = DatabaseConfig()
    logging: LoggingConfig = LoggingConfig()
    commons: list[CommonsConfig] = Field(min_length=1)
    members: list[MembersImport] = Field(default_factory=list)
    collectors: list[CollectorConfig] = Field(default_factory=list)
    forecast: ForecastConfig = ForecastConfig()
    alerts: AlertsConfig = AlertsConfig()
    dashboard: DashboardConfig = DashboardConfig()

    @model_validator(mode="before")
    @classmethod
    def _scope_to_commons(cls, data: Any) -> Any:
        """Give every collector and alert route exactly one commons, or refuse the file.

        A route declared in ``commons[].routes`` serves that commons; a route in
        ``alerts.routes`` or a collector without ``commons`` serves the only
        commons of a single-commons workspace. With several commons an unscoped
        one would mix their alerts (or rows), so it is refused, naming the key.
        """
        if not isinstance(data, dict) or not isinstance(data.get("commons"), list):
            return data
        data = dict(data)
        entries = [c for c in data["commons"] if isinstance(c, dict)]
        slugs = [str(c.get("slug")) for c in entries]
        only = slugs[0] if len(slugs) == 1 else None
        alerts = dict(data.get("alerts") or {})
        routes = list(alerts.get("routes") or [])
        scoped_commons = []
        for i, entry in enumerate(data["commons"]):
            if isinstance(entry, dict) and "routes" in entry:
                entry = dict(entry)
                declared = entry.pop("routes") or []
                if not isinstance(declared, list):
                    raise ValueError(f"commons[{i}].routes must be a list of routes")
                for j, route in enumerate(declared):
                    if not isinstance(route, dict):
                        raise ValueError(f"commons[{i}].routes[{j}] must be a mapping")
                    if route.get("commons", entry.get("slug")) != entry.get("slug"):
                        raise ValueError(
                            f"commons[{i}].routes[{j}]: a route declared in commons "
                            f"{entry.get('slug')!r} cannot serve commons {route['commons']!r}"
                        )
                    routes.append({**route, "commons": entry.get("slug")})
            scoped_commons.append(entry)
        data["commons"] = scoped_commons
        collectors = data.get("collectors")
        if isinstance(collectors, list):
            collectors = data["collectors"] = list(collectors)
        for what, items in (("alerts.routes", routes), ("collectors", collectors)):
            if not isinstance(items, list):
                continue
            for i, item in enumerate(items):
                if not isinstance(item, dict) or item.get("commons") is not None:
                    continue
                if only is None:
                    raise ValueError(
                        f"{what}[{i}] ({item.get('name')}): this workspace has several "
                        f"commons ({', '.join(slugs)}); set `commons:` to the one it serves"
                        + (", or declare it under that commons' `routes`" if what[0] == "a" else "")
                    )
                items[i] = {**item, "commons": only}
        if routes:
            alerts["routes"] = routes
            data["alerts"] = alerts
        return data

    def routes_of(self, commons: str) -> list[RouteConfig]:
        """The alert routes that serve ``commons`` (a slug)."""
        return [r for r in self.alerts.routes if r.commons == commons]

    @model_validator(mode="after")
    def _references(self) -> Settings:
        commons = {c.slug for c in self.commons}
        _unique("commons", [c.slug for c in self.commons])
        _unique("resource slug", [r.slug for c in self.commons for r in c.resources])
        _unique("collector name", [c.name for c in self.collectors])
        _unique("alert route", [r.name for r in self.alerts.routes])
        for item in [*self.members, *self.collectors, *self.alerts.routes]:
            ref = getattr(item, "commons", None)
            if ref is not None and ref not in commons:
                raise ValueError(f"commons {ref!r} is not defined (known: {sorted(commons)})")
        return self

    def resource(self, slug: str) -> tuple[CommonsConfig, ResourceConfig]:
        for commons in self.commons:
            for resource in commons.resources:
                if resource.slug == slug:
                    return commons, resource
        raise KeyError(slug)


def _unique(what: str, values: list[str]) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{what} {value!r} is defined twice")
        seen.add(value)


@dataclass(frozen=True)
class LoadedConfig:
    """Validated settings plus where they came from (relative paths resolve there)."""

    settings: Settings
    path: Path

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def resolve(self, value: str | Path) -> Path:
        path = Path(value).expanduser()
        return path if path.is_absolute() else (self.base_dir / path)

    @property
    def database_url(self) -> str:
        """The database URL, a relative SQLite path resolved against the config's folder."""
        url = self.settings.database.url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/"):
            rest = url[len(prefix) :]
            if rest and rest != ":memory:":
                return prefix + str(self.resolve(rest).resolve())
        return url


#: A configuration file may use this many aliases (``*name``), and expand to this many nodes.
MAX_ALIASES = 100
MAX_NODES = 100_000
#: libyaml's safe loader where PyYAML was built with it: same documents, about ten
#: times faster on a config listing hundreds of resources.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_yaml(text: str, file: Path) -> Any:
    """``yaml.safe_load``, refusing alias-heavy documents before anything is expanded.

    A "billion laughs" file of a few hundred bytes expands, through nested
    aliases, to millions of nodes; interpolating ``${VAR}`` in it then takes
    gigabytes. The document is composed first (aliases stay shared there), its
    expanded size counted without expanding it, and it is refused above
    MAX_ALIASES aliases or MAX_NODES nodes.
    """
    root = yaml.compose(text, Loader=_LOADER)
    if root is None:
        return None
    sizes: dict[int, int] = {}
    seen_refs = 0

    def size(node: yaml.Node) -> int:
        nonlocal seen_refs
        key = id(node)
        if key in sizes:
            seen_refs += 1
            return sizes[key]
        sizes[key] = 1  # a recursive alias counts once, it cannot loop
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        sizes[key] = total
        return total

    nodes = size(root)
    if seen_refs > MAX_ALIASES:
        raise ConfigError(
            f"{file}: the YAML uses {seen_refs} aliases (more than {MAX_ALIASES})",
            hint="write the repeated settings out; aliases are limited so a file cannot explode",
        )
    if nodes > MAX_NODES:
        raise ConfigError(
            f"{file}: the YAML expands to {nodes:,} values (more than {MAX_NODES:,})",
            hint="a configuration this large is almost certainly an alias bomb; write it out plainly",
        )
    return yaml.load(text, Loader=_LOADER)


_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _interpolate(node: Any, where: str, env: dict[str, str], file: Path) -> Any:
    if isinstance(node, dict):
        return {
            k: _interpolate(v, f"{where}.{k}" if where else str(k), env, file)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_interpolate(v, f"{where}[{i}]", env, file) for i, v in enumerate(node)]
    if isinstance(node, str):

        def sub(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            raise ConfigError(
                f"{file}: {where}: environment variable {name} is not set",
                hint=f"export {name}=... before running Steward, or write ${{{name}:-default}}",
            )

        return _ENV_REF.sub(sub, node)
    return node


def _apply_overrides(data: dict[str, Any], env: dict[str, str]) -> None:
    for setting in SETTINGS:
        if not setting.path or setting.env not in env:
            continue
        node = data
        for key in setting.path[:-1]:
            child = node.get(key)
            if not isinstance(child, dict):
                child = {}
                node[key] = child
            node = child
        node[setting.path[-1]] = env[setting.env]


def _key_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def format_validation_error(file: Path, exc: ValidationError) -> ConfigError:
    lines = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "missing":
            msg = "is required but missing"
        elif err["type"] == "extra_forbidden":
            msg = "is not a known setting (check the spelling)"
        elif err["type"] == "literal_error":
            msg = f"got {err.get('input')!r}; {msg.lower()}"
        lines.append(f"{file}: {_key_path(loc)}: {msg}")
    first, *rest = lines
    message = first if not rest else first + "\n" + "\n".join(rest)
    return ConfigError(message, hint="see config/example.yaml for a documented configuration")


def parse(data: Any, *, file: Path, env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ) if env is None else env
    if data is None:
        raise ConfigError(f"{file}: the file is empty", hint="start from config/example.yaml")
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: expected a mapping of settings at the top level")
    data = _interpolate(data, "", env, file)
    _apply_overrides(data, env)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise format_validation_error(file, exc) from None


def load(path: str | Path | None = None, *, env: dict[str, str] | None = None) -> LoadedConfig:
    env = dict(os.environ) if env is None else env
    file = Path(path or env.get("STEWARD_CONFIG") or DEFAULT_CONFIG)
    if not file.exists():
        raise ConfigError(
            f"configuration file {file} does not exist",
            hint="run `steward init` to create a workspace, or pass --config PATH",
        )
    try:
        data = safe_yaml(file.read_text(encoding="utf-8"), file)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{file}: not valid YAML{where}: {problem}") from None
    return LoadedConfig(parse(data, file=file, env=env), file.resolve())
