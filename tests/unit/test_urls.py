from __future__ import annotations

import pytest

from hub.urls import safe_http_url


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://www.dgs.pt", "https://www.dgs.pt"),
        ("http://example.pt/path?q=1#x", "http://example.pt/path?q=1#x"),
        ("www.gov.pt", "https://www.gov.pt"),
        ("  www.gov.pt/covid  ", "https://www.gov.pt/covid"),
        ("example.pt:8080/x", "https://example.pt:8080/x"),
        ("HTTPS://EXAMPLE.PT", "HTTPS://EXAMPLE.PT"),
        ("https://câmara.pt", "https://câmara.pt"),
    ],
)
def test_accepts_plain_web_links(raw: str, expected: str) -> None:
    assert safe_http_url(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "javascript:alert(1)",
        "JavaScript://%0aalert(1)",
        "data:text/html,x",
        "file:///etc/passwd",
        "mailto:a@b.pt",
        "vbscript:msgbox",
        "ftp://x.pt",
        "https://a.pt/)](javascript:x",
        "https://a b.pt",
        'https://a.pt/"onmouseover="x',
        "https://",
        "https:///path",
        "https://localhost\x00.pt",
        "nohost",
        "",
    ],
)
def test_refuses_everything_else(raw: str) -> None:
    assert safe_http_url(raw) is None
