"""Plain-text helpers shared by the UI and exports."""

from __future__ import annotations

import re

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:])")


def escape_markdown(text: str) -> str:
    """Backslash-escape every Markdown (and Streamlit colour/emoji) control character."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)
