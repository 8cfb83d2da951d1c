"""Shared by the feed benchmarks: a generated alerts feed like the research notes'."""

from __future__ import annotations


def alerts_feed(feed_number: int, items: int = 50, *, revision: int = 0) -> bytes:
    description = (
        "<p>Comunicado {n}: a <a href='/medidas/{n}'>lista de medidas</a> &amp; "
        "apoios em vigor, com <strong>novas regras</strong> para escolas e empresas.</p>"
        "<img src='/img/{n}.png' alt='mapa'><ul><li>Saúde</li><li>Educação</li></ul>"
    )
    body = []
    for i in range(items):
        n = f"{feed_number}-{i}-{revision}"
        body.append(
            f"<item><title>Alerta {n}: atualização das medidas de saúde pública</title>"
            f"<link>https://example.gov.pt/f{feed_number}/a/{i}</link>"
            f"<guid isPermaLink='false'>f{feed_number}-item-{i}</guid>"
            "<pubDate>Mon, 16 Mar 2020 10:00:00 +0000</pubDate><category>saude</category>"
            "<dc:creator>Gabinete de imprensa</dc:creator>"
            f"<enclosure url='https://example.gov.pt/f{feed_number}/{i}.pdf' "
            "type='application/pdf' length='1000'/>"
            f"<description><![CDATA[{description.format(n=n) * 8}]]></description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        f"<title>Feed {feed_number}</title><link>https://example.gov.pt/</link>"
        + "".join(body)
        + "</channel></rss>"
    ).encode()
