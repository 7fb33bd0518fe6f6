"""The http and opencollective collectors against a real local HTTP server."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest
from sqlalchemy import func, select

from steward import collectors
from steward.store.models import CollectorState, Event, QuarantinedRow, Reading

from .support import MakeWorkspace

Handler = Callable[[BaseHTTPRequestHandler], None]


class Server:
    """A local server whose answer each test scripts; it records every request."""

    def __init__(self) -> None:
        self.handler: Handler = lambda h: self.reply(h, 404, b"")
        self.requests: list[tuple[str, dict[str, str]]] = []
        outer = self

        class _H(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests.append((self.path, dict(self.headers)))
                outer.handler(self)

            def log_message(self, *_args: Any) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _H)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @staticmethod
    def reply(h: BaseHTTPRequestHandler, status: int, body: bytes, **headers: str) -> None:
        h.send_response(status)
        for name, value in headers.items():
            h.send_header(name.replace("_", "-"), value)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


JSON_DOC = b'{"data": {"items": [{"external_id": "j1", "resource": "tank", "value": "1200.5", "observed_at": "2024-05-01T08:00:00Z"}, {"external_id": "j2", "resource": "tank", "value": "oops", "observed_at": "2024-05-01T09:00:00Z"}]}}'


def http_collector(url: str, **options: Any) -> dict[str, Any]:
    return {"name": "api", "kind": "http", "commons": "town", "url": url, "timeout": 1, **options}


def no_sleep(_seconds: float) -> None:
    return


def test_json_with_path_and_etag(make_workspace: MakeWorkspace, server: Server) -> None:
    def handler(h: BaseHTTPRequestHandler) -> None:
        if h.headers.get("If-None-Match") == '"v1"':
            server.reply(h, 304, b"")
        else:
            server.reply(h, 200, JSON_DOC, Content_Type="application/json", ETag='"v1"')

    server.handler = handler
    ws = make_workspace(
        [
            http_collector(
                f"{server.url}/levels?token=secret", record="readings", json_path="data.items"
            )
        ]
    )
    first = collectors.run(ws, "api")
    assert (first.accepted, first.quarantined) == (1, 1)
    second = collectors.run(ws, "api")
    assert second.rows_read == 0  # 304: nothing new, nothing re-read
    assert server.requests[-1][1].get("If-None-Match") == '"v1"'


def test_csv_over_http(make_workspace: MakeWorkspace, server: Server) -> None:
    body = b"external_id,resource,kind,quantity,occurred_at\nh1,fund,use,$5.00,2024-05-01\n"
    server.handler = lambda h: server.reply(h, 200, body, Content_Type="text/csv")
    ws = make_workspace([http_collector(f"{server.url}/sheet.csv")])
    assert collectors.run(ws, "api").accepted == 1
    for _ in range(10):
        assert collectors.run(ws, "api").accepted == 0  # replays: duplicates only


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("500", "answered 500"),
        ("timeout", "timed out"),
        ("json", "not valid JSON"),
        ("404", "answered 404"),
    ],
)
def test_faults_are_failed_runs_then_recovery(
    make_workspace: MakeWorkspace, server: Server, fault: str, message: str
) -> None:
    healthy = [False]

    def handler(h: BaseHTTPRequestHandler) -> None:
        if healthy[0]:
            server.reply(h, 200, JSON_DOC, Content_Type="application/json")
        elif fault == "500":
            server.reply(h, 500, b"boom")
        elif fault == "404":
            server.reply(h, 404, b"gone")
        elif fault == "timeout":
            time.sleep(1.5)
            server.reply(h, 200, b"{}", Content_Type="application/json")
        else:
            server.reply(h, 200, b"{not json", Content_Type="application/json")

    server.handler = handler
    ws = make_workspace(
        [
            http_collector(
                f"{server.url}/levels?token=secret", record="readings", json_path="data.items"
            )
        ]
    )
    failed = collectors.run(ws, "api", retries=2, sleep=no_sleep)
    assert failed.status == "failed"
    assert message in (failed.error or "")
    assert "secret" not in (failed.error or "")  # query strings (tokens) never reach logs
    transient = fault in ("500", "timeout")
    assert failed.attempts == (3 if transient else 1)
    healthy[0] = True
    ok = collectors.run(ws, "api", sleep=no_sleep)
    assert (ok.status, ok.accepted) == ("ok", 1)
    with ws.store.read() as conn:
        state = conn.execute(select(CollectorState)).one()
    assert state.consecutive_failures == 0 and state.last_error_at is not None


OC_HEADER = (
    '"datetime","shortId","shortGroup","description","type","kind","isRefund","isRefunded",'
    '"shortRefundId","displayAmount","amount","paymentProcessorFee","netAmount","balance",'
    '"currency","accountSlug","accountName","oppositeAccountSlug","oppositeAccountName",'
    '"paymentMethodService","paymentMethodType","expenseType","expenseTags","payoutMethodType",'
    '"merchantId","orderMemo"\n'
)


def oc_row(when: str, short: str, kind: str, amount: str, net: str) -> str:
    kind_name = "CONTRIBUTION" if kind == "CREDIT" else "EXPENSE"
    return (
        f'"{when}","{short}","g{short}","row {short}","{kind}","{kind_name}","","",'
        f'"","${amount}","{amount}","-0.50","{net}","100.00","USD","garden","Garden",'
        '"someone","Someone","STRIPE","CREDITCARD","","","","",""\n'
    )


OC_ROWS = [
    oc_row("2024-01-05T10:00:00.000Z", "a1", "CREDIT", "25.00", "24.50"),
    oc_row("2024-01-06T11:00:00.000Z", "a2", "CREDIT", "10.00", "9.50"),
    oc_row("2024-01-07T12:00:00.000Z", "a3", "DEBIT", "-12.00", "-12.00"),
    oc_row("2024-01-08T13:00:00.000Z", "a4", "CREDIT", "5.00", "4.50"),
    oc_row("2024-01-09T14:00:00.000Z", "a5", "DEBIT", "-3.00", "-3.00"),
]


def test_opencollective_transactions_csv_paged_and_incremental(
    make_workspace: MakeWorkspace, server: Server
) -> None:
    published = list(OC_ROWS[:4])

    def handler(h: BaseHTTPRequestHandler) -> None:
        url = urlsplit(h.path)
        assert url.path == "/v2/garden/transactions.csv"
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        since = pd.Timestamp(q.get("dateFrom", "2000-01-01T00:00:00Z"))
        rows = [r for r in published if pd.Timestamp(r[1:25]) >= since]
        offset, limit = int(q["offset"]), int(q["limit"])
        server.reply(
            h,
            200,
            (OC_HEADER + "".join(rows[offset : offset + limit])).encode(),
            Content_Type="text/csv",
        )

    server.handler = handler
    collector = {
        "name": "oc",
        "kind": "opencollective",
        "slug": "garden",
        "resource": "fund",
        "base_url": server.url,
        "page_size": 2,
    }
    ws = make_workspace([collector])
    first = collectors.run(ws, "oc")
    assert (first.accepted, first.chunks) == (4, 3)  # pages of 2, 2 and an empty one
    published.append(OC_ROWS[4])
    second = collectors.run(ws, "oc")
    # From the last date on: the row at that instant again (a duplicate) and the new one.
    assert (second.accepted, second.duplicates) == (1, 1)
    assert "dateFrom=2024-01-08T13%3A00%3A00Z" in server.requests[-1][0]
    with ws.store.read() as conn:
        totals = dict(
            conn.execute(select(Event.kind, func.sum(Event.quantity)).group_by(Event.kind)).all()
        )
    assert totals["replenish"] == pytest.approx(24.5 + 9.5 + 4.5)
    assert totals["use"] == pytest.approx(15.0)


def test_opencollective_server_error_is_retried(
    make_workspace: MakeWorkspace, server: Server, tmp_path: Path
) -> None:
    server.handler = lambda h: server.reply(h, 503, b"")
    collector = {
        "name": "oc",
        "kind": "opencollective",
        "slug": "garden",
        "resource": "fund",
        "base_url": server.url,
    }
    ws = make_workspace([collector])
    report = collectors.run(ws, "oc", retries=1, sleep=no_sleep)
    assert (report.status, report.attempts) == ("failed", 2)
    assert len(server.requests) == 2


def oc_stand_in(server: Server, rows: list[str]) -> None:
    """Open Collective's paged transactions CSV: a full page ends with a notice line."""

    def handler(h: BaseHTTPRequestHandler) -> None:
        q = {k: v[0] for k, v in parse_qs(urlsplit(h.path).query).items()}
        offset, limit = int(q["offset"]), int(q["limit"])
        page = rows[offset : offset + limit]
        body = OC_HEADER + "".join(page)
        if offset + limit < len(rows):
            body += f"Warning: totalCount is {len(rows)} and limit was {limit}\n"
        server.reply(h, 200, body.encode(), Content_Type="text/csv")

    server.handler = handler


def test_opencollective_full_pages_with_a_notice_lose_nothing(
    make_workspace: MakeWorkspace, server: Server
) -> None:
    rows = [
        oc_row(f"2024-02-{d:02d}T10:00:00.000Z", f"t{d}", "CREDIT", f"{d}.00", f"{d}.00")
        for d in range(1, 26)
    ]
    oc_stand_in(server, rows)
    collector = {
        "name": "oc",
        "kind": "opencollective",
        "slug": "garden",
        "resource": "fund",
        "base_url": server.url,
        "page_size": 10,
    }
    ws = make_workspace([collector])
    first = collectors.run(ws, "oc")
    # Pages of 10, 10 and 5 transactions; the two notices are neither rows nor quarantined.
    assert (first.rows_read, first.accepted, first.quarantined) == (25, 25, 0)
    offsets = [parse_qs(urlsplit(path).query)["offset"][0] for path, _ in server.requests]
    assert offsets == ["0", "10", "20"]
    replay = collectors.run(ws, "oc", from_start=True)
    assert (replay.rows_read, replay.accepted, replay.duplicates) == (25, 0, 25)
    with ws.store.read() as conn:
        ids = sorted(conn.execute(select(Event.external_id)).scalars())
        total = conn.execute(select(func.sum(Event.quantity))).scalar_one()
    assert ids == sorted(f"t{d}" for d in range(1, 26))
    assert float(total) == sum(range(1, 26))


def test_opencollective_other_currency_is_converted_or_refused(
    make_workspace: MakeWorkspace, server: Server
) -> None:
    rows = [
        oc_row("2024-03-01T10:00:00.000Z", "u1", "CREDIT", "10.00", "10.00"),
        oc_row("2024-03-02T10:00:00.000Z", "e1", "CREDIT", "12.00", "12.00").replace(
            '"USD"', '"EUR"'
        ),
    ]
    oc_stand_in(server, rows)
    base = {"name": "oc", "kind": "opencollective", "slug": "garden", "resource": "fund"}
    ws = make_workspace([{**base, "base_url": server.url}])
    report = collectors.run(ws, "oc")
    assert (report.accepted, report.quarantined) == (1, 1)
    with ws.store.read() as conn:
        why = conn.execute(select(QuarantinedRow.reason)).scalar_one()
    assert (
        why
        == "amount in EUR, but fund 'fund' counts USD: add `rates: {EUR: <USD per EUR>}` to convert it"
    )
    ws = make_workspace([{**base, "base_url": server.url, "rates": {"EUR": 1.17}}])
    report = collectors.run(ws, "oc", from_start=True)
    assert (report.accepted, report.duplicates) == (1, 1)
    with ws.store.read() as conn:
        amounts = sorted(float(q) for q in conn.execute(select(Event.quantity)).scalars())
    assert amounts == [10.0, 14.04]


def test_json_numbers_are_numbers_and_json_text_takes_the_format(
    make_workspace: MakeWorkspace, server: Server
) -> None:
    doc = (
        b'[{"external_id": "n1", "resource": "tank", "value": 1.234, "observed_at": "2024-05-01T08:00:00Z"},'
        b' {"external_id": "n2", "resource": "tank", "value": "1,234", "observed_at": "2024-05-01T09:00:00Z"}]'
    )
    server.handler = lambda h: server.reply(h, 200, doc, Content_Type="application/json")
    ws = make_workspace([http_collector(server.url, record="readings")])
    report = collectors.run(ws, "api")
    # A JSON number is no one's locale; the text "1,234" could be 1234 or 1.234.
    assert (report.accepted, report.quarantined) == (1, 1)
    with ws.store.read() as conn:
        assert [float(v) for v in conn.execute(select(Reading.value)).scalars()] == [1.234]
        why = conn.execute(select(QuarantinedRow.reason)).scalar_one()
    assert why.startswith("value '1,234' reads as 1234 with decimal '.' and as 1.234")
