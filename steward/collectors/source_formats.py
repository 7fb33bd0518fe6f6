"""How a source writes times and numbers: options shared by the tabular and MQTT kinds."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from steward import numbers


class SourceFormats(BaseModel):
    """Options for a source's local conventions; validated when the config loads.

    ``timezone`` applies to timestamps written without an offset (None: the
    commons'); ``date_format`` is a strftime format for timestamps that are not
    ISO 8601 or epoch numbers; ``decimal``/``thousands`` declare how text numbers
    are written (see :mod:`steward.numbers`). Raises pydantic's ValidationError
    for an unknown timezone or a decimal mark equal to the thousands separator.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Timezone of timestamps written without an offset (default: the commons').
    timezone: str | None = None
    #: strftime format of timestamps that are not ISO 8601, e.g. "%m/%d/%Y %I:%M %p".
    date_format: str | None = None
    #: How the source writes numbers (see steward.numbers): "." or ",".
    decimal: numbers.Mark | None = None
    #: Its thousands separator: ",", ".", " ", "'" or "none" (default: the other mark).
    thousands: numbers.Grouping | None = None

    @property
    def number_format(self) -> numbers.NumberFormat:
        """The declared number format (undeclared marks stay None: ambiguity is refused)."""
        return numbers.NumberFormat(decimal=self.decimal, thousands=self.thousands)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown timezone {value!r}; use an IANA name") from None
        return value

    @model_validator(mode="after")
    def _numbers(self) -> SourceFormats:
        numbers.NumberFormat(decimal=self.decimal, thousands=self.thousands)
        return self
