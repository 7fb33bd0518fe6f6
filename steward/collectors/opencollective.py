"""An Open Collective collective's transactions, from the public transactions CSV.

``GET {base_url}/v2/{slug}/transactions.csv?dateFrom=...&limit=...&offset=...``
returns one row per ledger entry: ``type`` CREDIT (money in: replenishment of the
fund) or DEBIT (money out: use of the fund), a signed ``amount`` and the
``netAmount`` after payment processor and host fees, which is what the
collective's balance moves by. Reading is incremental by date: the cursor is the
newest ``datetime`` committed; rows at that same instant are read again and
recognised as duplicates by their ``shortId``.

Paging counts records, never lines: a full page ends with a notice line
(``Warning: totalCount is ... and limit was ...``) that is logged, not read as a
transaction, and the next offset advances by the transactions actually parsed.
Amounts are in the row's ``currency``; one other than the fund's (its unit when
that is a currency code, else the commons' currency), as after a change of
fiscal host, is converted with the ``rates`` table or quarantined, never added
as if it were the same money.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from steward import numbers
from steward.collectors import parsing
from steward.collectors.base import Chunk, Collector
from steward.collectors.csv_files import read_text_table
from steward.collectors.http_source import fetch
from steward.collectors.tabular import Mapper, MappingOptions, Table
from steward.errors import SourceError
from steward.ledger import Rejected

REQUIRED = ("datetime", "shortId", "type", "amount", "netAmount")
#: A notice the export appends instead of a transaction (in the first column).
NOTICE = re.compile(r"^\s*[A-Za-z][A-Za-z ]*:")

log = logging.getLogger("steward.collectors")


class OpenCollectiveOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    slug: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    #: The fund (a stock) the collective's money is.
    resource: str
    base_url: str = Field(default="https://rest.opencollective.com", pattern=r"^https?://")
    #: First date to read on the very first run (ISO), e.g. 2024-01-01.
    date_from: str | None = None
    page_size: int = Field(default=1000, ge=1, le=10000)
    #: Count fees: "net" (what the balance moves by) or "gross" (the amount paid).
    amount: str = Field(default="net", pattern=r"^(net|gross)$")
    timeout: float = Field(default=30.0, gt=0)
    #: Personal token for private collectives: "${OC_API_KEY}" (sent as Api-Key).
    api_key: str | None = None
    #: Currency -> the fund's currency per unit of it, e.g. {GBP: 1.17} for a EUR fund.
    rates: dict[str, float] = Field(default_factory=dict)


class OpenCollectiveCollector(Collector):
    kind = "opencollective"
    Options = OpenCollectiveOptions
    options: OpenCollectiveOptions

    def read(self, cursor: str | None) -> Iterator[Chunk]:
        opts = self.options
        since = json.loads(cursor)["date_from"] if cursor else opts.date_from
        url = f"{opts.base_url.rstrip('/')}/v2/{opts.slug}/transactions.csv"
        headers = {"Api-Key": opts.api_key} if opts.api_key else None
        newest = since
        offset = 0
        with httpx.Client(timeout=opts.timeout) as client:
            while True:
                params: dict[str, Any] = {"limit": opts.page_size, "offset": offset}
                if since:
                    params["dateFrom"] = since
                response = fetch(
                    client,
                    str(httpx.URL(url, params=params)),
                    headers=headers,
                    where=self.context.where,
                )
                frame = self._page(response.content)
                if len(frame):
                    latest = pd.to_datetime(frame["datetime"], utc=True, errors="coerce").max()
                    if not pd.isna(latest):
                        stamp = latest.isoformat().replace("+00:00", "Z")
                        newest = max(newest, stamp) if newest else stamp
                keys = [f"{opts.slug}@{offset + i + 1}" for i in range(len(frame))]
                batch = self._map(frame.reset_index(drop=True), keys)
                full = len(frame) >= opts.page_size
                # Only the last page moves the date: pages are offsets into one query.
                state = cursor if full else json.dumps({"date_from": newest})
                yield Chunk(batch, state)
                if not full:
                    return
                offset += len(frame)

    def _page(self, content: bytes) -> pd.DataFrame:
        if not content.strip():
            return pd.DataFrame(columns=list(REQUIRED))
        try:
            frame = read_text_table(content, delimiter=",")
        except ValueError as exc:
            raise SourceError(f"{self.context.where}: unreadable transactions CSV: {exc}") from None
        missing = [c for c in REQUIRED if c not in frame.columns]
        if missing:
            raise SourceError(
                f"{self.context.where}: the transactions CSV lacks {missing}",
                hint="Open Collective may have changed its export; report it",
            )
        notice = frame["datetime"].fillna("").str.match(NOTICE)
        for text in frame.loc[notice, "datetime"]:
            log.info("%s: the export says: %s", self.context.where, str(text)[:200])
        return frame.loc[~notice]

    def _currency(self) -> str:
        """The fund's currency: its unit when that is a currency code, else the commons'."""
        for commons in self.context.loaded.settings.commons:
            for res in commons.resources:
                if res.slug == self.options.resource:
                    if re.fullmatch(r"[A-Za-z]{3}", res.unit):
                        return res.unit.upper()
                    return commons.currency
        return "USD"

    def _map(self, frame: pd.DataFrame, keys: list[str]) -> Any:
        column = "netAmount" if self.options.amount == "net" else "amount"
        rejected: list[Rejected] = []
        rate = pd.Series(1.0, index=frame.index)
        if "currency" in frame and len(frame):
            fund = self._currency()
            rates = {k.upper(): v for k, v in self.options.rates.items()} | {fund: 1.0}
            code = frame["currency"].fillna("").str.strip().str.upper().replace("", fund)
            rate = code.map(rates).astype("float64")
            foreign = rate.isna()
            for i in frame.index[foreign]:
                rejected.append(
                    Rejected(
                        keys[i],
                        frame.loc[i].to_dict(),
                        f"amount in {code[i]}, but fund {self.options.resource!r} counts {fund}: "
                        f"add `rates: {{{code[i]}: <{fund} per {code[i]}>}}` to convert it",
                    )
                )
            keep = ~foreign
            frame, rate = frame.loc[keep], rate.loc[keep]
            keys = [k for k, ok in zip(keys, keep, strict=True) if ok]
        # The export writes amounts with a "." decimal mark and no grouping.
        value = (
            (numbers.parse(frame[column], numbers.US)[0] * rate).round(6)
            if len(frame)
            else pd.Series(dtype="float64")
        )
        # A converted amount is rounded to the fund's currency (12.34 GBP at 1.17 is
        # 14.44 EUR, not 14.4378, which the ledger would refuse as finer than a cent);
        # amounts in the fund's own currency stay as the export wrote them.
        places = numbers.minor_units(self._currency())
        converted = rate != 1.0
        if places is not None and len(frame) and converted.any():
            value = value.where(~converted, value.round(places))
        kind = frame["type"].str.strip().str.upper().map({"CREDIT": "replenish", "DEBIT": "use"})
        prepared = frame.assign(
            steward_kind=kind.fillna(frame["type"]).astype("string"),
            steward_quantity=value.abs().astype("string"),
        )
        # An unknown type or unreadable amount is refused by the mapper and the ledger.
        bad = value.isna() & ~parsing.is_missing(frame[column]) if len(frame) else None
        if bad is not None and bad.any():
            prepared.loc[bad, "steward_quantity"] = frame.loc[bad, column]
        mapping = MappingOptions(
            record="events",
            columns={
                "external_id": "shortId",
                "kind": "steward_kind",
                "quantity": "steward_quantity",
                "occurred_at": "datetime",
            },
            defaults={"resource": self.options.resource},
            timezone="UTC",
            decimal=".",
            thousands="none",
        )
        mapper = Mapper(mapping, commons=None, timezone="UTC", where=self.context.where)
        table = Table(prepared.reset_index(drop=True), keys, self.options.slug)
        return mapper.batch(self.name, [table], rejected)
