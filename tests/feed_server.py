"""A real HTTP server on 127.0.0.1 for feed tests: each path answers with a function
the test sets (status, headers, body, or raw socket writes for hostile cases)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Route = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class FeedServer:
    port: int
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    client_ports: list[int] = field(default_factory=list)  # one per request

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def respond(
    status: int = 200,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> Route:
    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return route


def feed(body: bytes, *, etag: str = "", content_type: str = "application/rss+xml") -> Route:
    """A feed that answers 304 to a matching If-None-Match."""

    def route(handler: BaseHTTPRequestHandler) -> None:
        if etag and handler.headers.get("If-None-Match") == etag:
            handler.send_response(304)
            handler.send_header("ETag", etag)
            handler.end_headers()
            return
        headers = {"Content-Type": content_type}
        if etag:
            headers["ETag"] = etag
        respond(200, body, headers)(handler)

    return route


@contextmanager
def serve() -> Iterator[FeedServer]:
    state: dict[str, FeedServer] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            server = state["server"]
            path = self.path.split("?", 1)[0]
            server.requests.append((path, {k.lower(): v for k, v in self.headers.items()}))
            server.client_ports.append(int(self.client_address[1]))
            route = server.routes.get(path)
            if route is None:
                respond(404, b"not found")(self)
                return
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                route(self)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    state["server"] = FeedServer(port=httpd.server_address[1])
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state["server"]
    finally:
        httpd.shutdown()
        httpd.server_close()


def rss(*items: str, title: str = "Test feed") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>https://example.pt/</link>{''.join(items)}"
        "</channel></rss>"
    ).encode()


def item(title: str, *, guid: str | None = None, link: str = "", extra: str = "") -> str:
    guid_xml = f'<guid isPermaLink="false">{guid}</guid>' if guid is not None else ""
    link_xml = f"<link>{link}</link>" if link else ""
    return f"<item><title>{title}</title>{link_xml}{guid_xml}{extra}</item>"
