"""Browser-test diagnostics: when a test fails, screenshot each page it opened and
attach the paths and the tail of the Streamlit server log to the failure report."""

from __future__ import annotations

from collections.abc import Generator

import pytest


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when != "call" or not report.failed:
        return report
    server = getattr(item, "hub_server", None)
    lines: list[str] = []
    for number, page in enumerate(getattr(item, "hub_pages", []), start=1):
        if server is None:
            break
        path = server.artifacts / f"{item.name}-{number}.png"
        try:
            page.screenshot(path=str(path), full_page=True, timeout=10_000)
            lines.append(f"page {number} ({page.url}): screenshot {path}")
        except Exception as err:  # diagnostics must never hide the real failure
            lines.append(f"page {number}: no screenshot ({err})")
    if server is not None:
        lines += [f"server log {server.log_path} (tail):", server.log_tail()]
    if lines:
        report.sections.append(("browser diagnostics", "\n".join(lines)))
    return report
