"""CSV or JSON over HTTP(S): a published spreadsheet, a JSON API.

Requests are conditional (ETag / Last-Modified from the last committed read), so
an unchanged document costs one 304. Timeouts, connection failures and 5xx are
transient (retried by the run loop); 4xx and unreadable bodies are not.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import httpx
import pandas as pd
from pydantic import Field

from steward.collectors.base import CHUNK_ROWS, Chunk
from steward.collectors.csv_files import read_text_table
from steward.collectors.tabular import MappingOptions, Table, TabularCollector, native_numbers
from steward.errors import SourceError, TransientSourceError


class HttpOptions(MappingOptions):
    url: str = Field(pattern=r"^https?://")
    format: Literal["auto", "csv", "json"] = "auto"
    #: Dotted path to the list of records in a JSON document, e.g. "data.items".
    json_path: str = ""
    timeout: float = Field(default=30.0, gt=0)
    #: Extra request headers (put secrets in the environment: "Bearer ${API_TOKEN}").
    headers: dict[str, str] = Field(default_factory=dict)
    chunk_rows: int = Field(default=CHUNK_ROWS, ge=1)


def safe_url(url: str) -> str:
    """A URL fit for logs: no credentials, no query string (tokens live there)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def drop_on_cross_origin(url: str, headers: Mapping[str, str]) -> Callable[[httpx.Request], None]:
    """An httpx request hook: a redirect to another origin loses the configured headers.

    httpx drops ``Authorization`` on such a redirect but keeps custom ones (an
    ``X-Api-Key`` would reach whatever host the source redirects to).
    """
    origin = httpx.URL(url)
    names = list(headers)

    def hook(request: httpx.Request) -> None:
        target = request.url
        same = (target.scheme, target.host, target.port) == (
            origin.scheme,
            origin.host,
            origin.port,
        )
        if not same:
            for name in names:
                request.headers.pop(name, None)

    return hook


def fetch(
    client: httpx.Client, url: str, *, headers: Mapping[str, str] | None = None, where: str
) -> httpx.Response:
    """GET, with library errors translated: transient ones are retried by the run loop."""
    shown = safe_url(url)
    try:
        response = client.get(url, headers=headers)
    except httpx.TimeoutException:
        raise TransientSourceError(f"{where}: {shown} timed out") from None
    except httpx.TransportError as exc:
        raise TransientSourceError(f"{where}: cannot reach {shown}: {type(exc).__name__}") from None
    if response.status_code >= 500 or response.status_code == 429:
        raise TransientSourceError(f"{where}: {shown} answered {response.status_code}")
    if response.status_code >= 400:
        raise SourceError(
            f"{where}: {shown} answered {response.status_code}",
            hint="check the URL and any credentials in the collector's headers",
        )
    return response


def records_at(document: Any, path: str, where: str) -> list[dict[str, Any]]:
    node = document
    for part in [p for p in path.split(".") if p]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise SourceError(
                f"{where}: json_path {path!r} does not match the document (stopped at {part!r})",
                hint="set json_path to the dotted path of the list of records",
            )
    if isinstance(node, dict):
        node = [node]
    if not isinstance(node, list):
        raise SourceError(f"{where}: json_path {path!r} is not a list of records")
    return [r if isinstance(r, dict) else {"value": r} for r in node]


class HttpCollector(TabularCollector):
    kind = "http"
    Options = HttpOptions
    options: HttpOptions

    def read(self, cursor: str | None) -> Iterator[Chunk]:
        validators = json.loads(cursor) if cursor else {}
        headers = dict(self.options.headers)
        if validators.get("etag"):
            headers["If-None-Match"] = validators["etag"]
        if validators.get("last_modified"):
            headers["If-Modified-Since"] = validators["last_modified"]
        with httpx.Client(
            timeout=self.options.timeout,
            follow_redirects=True,
            event_hooks={"request": [drop_on_cross_origin(self.options.url, self.options.headers)]},
        ) as client:
            response = fetch(client, self.options.url, headers=headers, where=self.context.where)
        if response.status_code == 304:
            return
        frame, native = self._frame(response)
        new_cursor = json.dumps(
            {
                "etag": response.headers.get("etag"),
                "last_modified": response.headers.get("last-modified"),
            }
        )
        where = safe_url(self.options.url)
        mapper = self._mapper()
        size = self.options.chunk_rows
        starts = range(0, max(len(frame), 1), size)
        for start in starts:
            part = frame.iloc[start : start + size].reset_index(drop=True)
            keys = [f"{where}#{start + i + 1}" for i in range(len(part))]
            last = start + size >= len(frame)
            table = Table(
                part, keys, where, native.iloc[start : start + size].reset_index(drop=True)
            )
            batch = mapper.batch(self.name, [table], [])
            # The validators move only with the last part: a crash re-fetches the document.
            yield Chunk(
                batch, new_cursor if last else cursor, progress=(start + len(part), len(frame))
            )

    def _frame(self, response: httpx.Response) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The records as text, and which cells were JSON numbers."""
        kind = self.options.format
        if kind == "auto":
            ctype = response.headers.get("content-type", "")
            kind = "json" if "json" in ctype else "csv"
        where = f"{self.context.where}: {safe_url(self.options.url)}"
        if kind == "csv":
            try:
                table = read_text_table(response.content)
                return table, pd.DataFrame(False, index=table.index, columns=table.columns)
            except (ValueError, pd.errors.ParserError) as exc:
                raise SourceError(f"{where}: not readable CSV: {exc}") from None
        try:
            document = json.loads(response.content)
        except ValueError as exc:
            raise SourceError(
                f"{where}: the response is not valid JSON ({exc})",
                hint="check the URL points at the JSON document, not an HTML page",
            ) from None
        records = records_at(document, self.options.json_path, where)
        frame = pd.json_normalize(records) if records else pd.DataFrame()
        native = native_numbers(frame)
        return (frame.astype("string") if len(frame.columns) else frame), native
