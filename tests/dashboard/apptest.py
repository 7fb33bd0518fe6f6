"""Drive the dashboard with Streamlit's AppTest and read back everything a page shows."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from .fixtures import PASSWORDS

APP = Path(__file__).resolve().parents[2] / "dashboards" / "app.py"
TIMEOUT = 60
#: Page files by role, as the navigation registers them.
PAGES = {
    "steward": ("overview", "resource", "members", "alerts", "sources", "health"),
    "member": ("my_usage", "health"),
    "public": ("sign_in", "health"),
}
ALL_PAGES = (
    "overview",
    "resource",
    "members",
    "alerts",
    "sources",
    "my_usage",
    "health",
    "sign_in",
)


def new_app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=TIMEOUT)


def signed_in(username: str | None) -> AppTest:
    """The app after signing in through the form (or anonymous when username is None)."""
    at = new_app().run()
    if username is not None:
        at.text_input[0].input(username)
        at.text_input[1].input(PASSWORDS[username])
        at.button[0].click().run()
    return at


def open_page(at: AppTest, page: str, resource: str | None = None) -> AppTest:
    if resource is not None:
        at.query_params["resource"] = resource
    at.switch_page(f"app_pages/{page}.py")
    return at.run()


def shown_text(at: AppTest) -> str:
    """All text a viewer can read on the page: prose, metrics, tables, messages, options."""
    parts: list[str] = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "text", "code"):
        parts += [str(e.value) for e in getattr(at, kind)]
    for kind in ("error", "warning", "info", "success", "exception"):
        parts += [str(e.value) for e in getattr(at, kind)]
    for m in at.metric:
        parts += [str(m.label), str(m.value)]
    for df in [*at.dataframe, *at.table]:
        value = df.value
        if isinstance(value, pd.DataFrame):
            parts.append(value.to_string())
        else:
            parts.append(str(value))
    for box in [*at.selectbox, *at.multiselect, *at.radio]:
        parts += [str(o) for o in box.options]
    for tab in at.tabs:
        parts.append(str(tab.label))
    # Markdown escapes (a backslash before punctuation) are not what a viewer reads.
    return re.sub(r"\\([^\w\s])", r"\1", "\n".join(parts))
