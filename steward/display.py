"""User text shown as text: never as terminal markup, never with hidden direction controls.

Names, summaries, reasons and explanations come from sources and members. Rich
reads ``[bold]`` or ``[/]`` in a string as markup (and raises MarkupError on an
unbalanced tag), so the CLI prints user text through :func:`cell`, a
:class:`rich.text.Text` that is never parsed. Unicode direction controls
(right-to-left override and friends, the "Trojan Source" characters) can make
``gnp.exe`` read as ``exe.png``; :func:`visible` shows each as ``<U+202E>``,
and other invisible control characters likewise.
"""

from __future__ import annotations

import re

from rich.text import Text

# Bidi embeddings, overrides and isolates, marks; zero-width and other format characters.
_HIDDEN = re.compile(
    r"[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\x00-\x08\x0b-\x1f\x7f-\x9f]"
)


def visible(value: object) -> str:
    """``str(value)`` with direction controls and control characters written as ``<U+XXXX>``."""
    return _HIDDEN.sub(lambda m: f"<U+{ord(m.group()):04X}>", str(value))


def cell(value: object, style: str = "") -> Text:
    """A Rich ``Text`` of :func:`visible` ``value``: printed literally, markup never parsed."""
    return Text(visible(value), style=style)
