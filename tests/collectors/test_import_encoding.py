"""A file not in UTF-8 is refused naming the line and the option, or read as declared."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from steward.errors import InputError
from steward.importer import ImportOptions, import_file
from steward.store.models import Member

from .support import MakeWorkspace

# "Jürgen Müller" as an older spreadsheet saves it; the bad byte is on line 3.
LATIN1 = "code,name,commons\nT1,Ada Lovelace,town\nT2,Jürgen Müller,town\n"


def test_a_latin1_file_is_refused_before_anything_is_recorded(
    make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    ws = make_workspace([])
    path = tmp_path / "members.csv"
    path.write_bytes(LATIN1.encode("latin-1"))
    with pytest.raises(InputError, match=r"line 3 is not utf-8 text \(byte 0xFC\)") as caught:
        import_file(ws.store, path, ImportOptions("members", "m"))
    assert "--encoding" in (caught.value.hint or "")
    with ws.store.read() as conn:
        assert conn.scalar(select(func.count()).select_from(Member)) == 0


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252"])
def test_a_declared_encoding_reads_the_names_as_written(
    make_workspace: MakeWorkspace, tmp_path: Path, encoding: str
) -> None:
    ws = make_workspace([])
    path = tmp_path / "members.csv"
    path.write_bytes(LATIN1.encode(encoding))
    import_file(ws.store, path, ImportOptions("members", "m", encoding=encoding))
    with ws.store.read() as conn:
        names = set(conn.scalars(select(Member.name)))
    assert "Jürgen Müller" in names


def test_a_utf8_file_with_a_byte_order_mark_still_reads(
    make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    ws = make_workspace([])
    path = tmp_path / "members.csv"
    path.write_bytes(LATIN1.encode("utf-8-sig"))
    import_file(ws.store, path, ImportOptions("members", "m"))
    with ws.store.read() as conn:
        assert "Jürgen Müller" in set(conn.scalars(select(Member.name)))


def test_an_unknown_encoding_is_refused_naming_the_choices() -> None:
    with pytest.raises(InputError, match="--encoding 'utf-16'") as caught:
        ImportOptions("members", "m", encoding="utf-16")
    assert "latin-1" in (caught.value.hint or "")
