"""A configuration file cannot eat the machine: alias bombs are refused before expansion."""

from __future__ import annotations

import resource
from pathlib import Path

import pytest

from steward.config import MAX_NODES, load
from steward.errors import ConfigError

#: 9 levels of 9 aliases: nearly a billion values once expanded, in under 700 bytes.
BOMB = """\
commons:
  - slug: a
    name: A
    attributes: &l0 ["lol${HOME}"]
x1: &l1 [*l0, *l0, *l0, *l0, *l0, *l0, *l0, *l0, *l0]
x2: &l2 [*l1, *l1, *l1, *l1, *l1, *l1, *l1, *l1, *l1]
x3: &l3 [*l2, *l2, *l2, *l2, *l2, *l2, *l2, *l2, *l2]
x4: &l4 [*l3, *l3, *l3, *l3, *l3, *l3, *l3, *l3, *l3]
x5: &l5 [*l4, *l4, *l4, *l4, *l4, *l4, *l4, *l4, *l4]
x6: &l6 [*l5, *l5, *l5, *l5, *l5, *l5, *l5, *l5, *l5]
x7: &l7 [*l6, *l6, *l6, *l6, *l6, *l6, *l6, *l6, *l6]
x8: &l8 [*l7, *l7, *l7, *l7, *l7, *l7, *l7, *l7, *l7]
x9: &l9 [*l8, *l8, *l8, *l8, *l8, *l8, *l8, *l8, *l8]
"""


def test_a_billion_laughs_is_refused_before_it_expands(tmp_path: Path) -> None:
    path = tmp_path / "steward.yaml"
    path.write_text(BOMB, encoding="utf-8")
    assert len(BOMB.encode()) < 700
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(
        ConfigError, match=r"steward\.yaml: the YAML expands to 926,177,123 values"
    ) as info:
        load(path, env={"HOME": "/home/x"})
    assert info.value.hint and "alias bomb" in info.value.hint
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mib < 50


def test_few_aliases_that_expand_hugely_are_refused_by_size(tmp_path: Path) -> None:
    # Few aliases, each of a large list: the expanded size is what counts.
    items = ", ".join(str(i) for i in range(2000))
    doc = f"commons: [{{slug: a, name: A}}]\nbig: &b [{items}]\n" + "".join(
        f"c{i}: *b\n" for i in range(60)
    )
    path = tmp_path / "steward.yaml"
    path.write_text(doc, encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"expands to [\d,]+ values \(more than {MAX_NODES:,}\)"):
        load(path, env={})


def test_ordinary_anchors_still_work(tmp_path: Path) -> None:
    doc = (
        "defaults: &sched {every: 15m}\n"
        "commons: [{slug: a, name: A}]\n"
        "collectors:\n"
        "  - {name: one, kind: csv, path: a.csv, schedule: *sched}\n"
        "  - {name: two, kind: csv, path: b.csv, schedule: *sched}\n"
    )
    path = tmp_path / "steward.yaml"
    path.write_text(doc, encoding="utf-8")
    with pytest.raises(ConfigError, match="defaults: is not a known setting"):
        load(path, env={})  # the anchor parses; only the unknown top-level key is refused


def test_more_than_a_hundred_aliases_are_refused(tmp_path: Path) -> None:
    doc = "commons: [{slug: a, name: &n A}]\n" + "".join(f"k{i}: *n\n" for i in range(101))
    path = tmp_path / "steward.yaml"
    path.write_text(doc, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"the YAML uses 101 aliases \(more than 100\)"):
        load(path, env={})
