"""Show user-supplied text (names, summaries, explanations) as text, never as markup.

Streamlit never renders raw HTML without ``unsafe_allow_html`` (which this app
never uses); escaping Markdown as well keeps a name like ``[x](http://evil)`` or
``![x](http://tracker)`` from becoming a link or loading an image.
"""

from __future__ import annotations

import re

from steward.display import visible

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=])")


def plain(value: object) -> str:
    """Escape Markdown so ``st.markdown`` and labels show the value literally.

    Direction controls (a right-to-left override) are first made visible as ``<U+202E>``.
    """
    return _MARKDOWN.sub(r"\\\1", visible(value))


def number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}".rstrip("0").rstrip(".")
    if unit == "units" and text == "1":
        unit = "unit"
    return f"{text} {unit}".strip()
