"""Our own HTTP client for feeds (httpx), never feedparser's.

- http and https only; at most 5 redirects, each re-checked;
- every connection goes through ``GuardedBackend``: the host is resolved first and
  a private, loopback, link-local, multicast or reserved address (cloud metadata at
  169.254.169.254 included) is refused unless HUB_FETCH_ALLOW_HOSTS names it. The
  check is in the dialer, after DNS, so redirects and DNS rebinding are covered;
- connect and read timeouts, plus a hard deadline on the whole fetch (a server that
  drips bytes is cut off);
- the body is decompressed by us with a cap measured after decompression (a gzip
  bomb stops at HUB_FETCH_MAX_BYTES);
- conditional GET (ETag, Last-Modified) so an unchanged feed costs a 304; Retry-After
  read on 429 and 503.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import select
import socket
import ssl
import typing
import zlib
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import anyio
import httpcore
import httpx

from feeds import health
from hub import settings
from hub.records import utcnow

MAX_REDIRECTS = 5
USER_AGENT = "crisis-coordination-hub/1.0 (feed reader; +https://www.portugal.gov.pt)"
_REDIRECTS = {301, 302, 303, 307, 308}
_PERMANENT = {301, 308}


@dataclass(frozen=True)
class FetchPolicy:
    max_bytes: int = 15 * 1024 * 1024
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    deadline: float = 60.0
    allow_hosts: frozenset[str] = frozenset()
    max_redirects: int = MAX_REDIRECTS

    @classmethod
    def from_settings(cls) -> FetchPolicy:
        return cls(
            max_bytes=int(settings.get("HUB_FETCH_MAX_BYTES")),
            connect_timeout=float(settings.get("HUB_FETCH_CONNECT_TIMEOUT_SECONDS")),
            read_timeout=float(settings.get("HUB_FETCH_TIMEOUT_SECONDS")),
            deadline=float(settings.get("HUB_FETCH_DEADLINE_SECONDS")),
            allow_hosts=frozenset(settings.get("HUB_FETCH_ALLOW_HOSTS")),
        )


@dataclass
class FetchResult:
    url: str
    status: typing.Literal["ok", "not_modified", "error"]
    body: bytes = b""
    content_type: str = ""
    etag: str = ""
    last_modified: str = ""
    http_status: int | None = None
    problem: str = ""
    detail: str = ""
    retry_after: float | None = None  # seconds
    moved_to: str = ""  # final URL when every redirect was permanent
    headers: dict[str, str] = field(default_factory=dict)


class BlockedAddress(Exception):
    """The host resolves to an address the fetcher must not reach."""


class ResolveFailed(Exception):
    """DNS could not resolve the host."""


class _TooLarge(Exception):
    pass


class _BadEncoding(Exception):
    pass


def address_blocked(address: str) -> bool:
    """True for anything but a public unicast address (IPv4-mapped IPv6 unwrapped)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast or ip.is_reserved


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend with the address check in the dialer."""

    def __init__(self, allow_hosts: frozenset[str]) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._allow = allow_hosts

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            with anyio.fail_after(timeout):
                infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as err:
            raise ResolveFailed(host) from err
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        if not addresses:
            raise ResolveFailed(host)
        if host.lower() not in self._allow:
            for address in addresses:
                if address not in self._allow and address_blocked(address):
                    raise BlockedAddress(f"{host} ({address})" if host != address else host)
        # Connect to the address we checked, not to the name (a second lookup could
        # answer differently: DNS rebinding). TLS still verifies the host name.
        stream = await self._inner.connect_tcp(
            addresses[0], port, timeout, local_address, socket_options
        )
        return _SocketKnownStream(stream, stream.get_extra_info("socket"))

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedAddress(path)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _SocketKnownStream(httpcore.AsyncNetworkStream):
    """A connection that remembers its socket. Before every request httpcore asks each
    pooled connection whether its socket is readable (the server hung up), and anyio
    answers by building its whole attribute table, a getpeername() call included:
    with a full pool that was a sixth of an all-304 refresh's time."""

    def __init__(self, inner: httpcore.AsyncNetworkStream, raw: socket.socket | None) -> None:
        self._inner, self._socket = inner, raw

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        tls = await self._inner.start_tls(ssl_context, server_hostname, timeout)
        return _SocketKnownStream(tls, self._socket)

    def get_extra_info(self, info: str) -> typing.Any:
        if info == "socket":
            return self._socket
        if info == "is_readable":
            return _readable(self._socket)
        return self._inner.get_extra_info(info)


def _readable(raw: socket.socket | None) -> bool:
    """Data (or the end of the stream) waiting on the socket; a closed one counts."""
    descriptor = -1 if raw is None else raw.fileno()
    if descriptor < 0:
        return True
    poller = select.poll()
    poller.register(descriptor, select.POLLIN)
    return bool(poller.poll(0))


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One verifying TLS context per process: loading the CA bundle costs ~60 ms."""
    return httpx.create_ssl_context()


class GuardedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, *, allow_hosts: frozenset[str], max_connections: int) -> None:
        super().__init__(retries=0)
        # httpx has no public knob for the network backend; swap the pool it built.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=_ssl_context(),
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=5.0,
            http1=True,
            http2=False,
            network_backend=GuardedBackend(allow_hosts),
        )


def make_client(policy: FetchPolicy, *, max_connections: int = 32) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=GuardedTransport(allow_hosts=policy.allow_hosts, max_connections=max_connections),
        timeout=httpx.Timeout(
            policy.read_timeout, connect=policy.connect_timeout, pool=policy.deadline
        ),
        follow_redirects=False,
        headers={
            "User-Agent": USER_AGENT,
            "Accept": "application/rss+xml, application/atom+xml, application/feed+json, "
            "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5",
            "Accept-Encoding": "gzip, deflate",
        },
    )


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait, from delta-seconds or an HTTP date; None if absent or invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - utcnow()).total_seconds())


class _Decoder:
    """gzip/deflate decoding with the size cap applied to the decompressed bytes."""

    def __init__(self, encoding: str, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self.parts: list[bytes] = []
        encoding = encoding.strip().lower()
        if encoding in {"", "identity"}:
            self._zlib = None
        elif encoding in {"gzip", "x-gzip"}:
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._zlib = zlib.decompressobj()
        else:
            raise _BadEncoding(encoding)

    def _keep(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limit:
            raise _TooLarge
        self.parts.append(data)

    def feed(self, chunk: bytes) -> None:
        if self._zlib is None:
            self._keep(chunk)
            return
        data = chunk
        try:
            while data:
                self._keep(self._zlib.decompress(data, self.limit - self.size + 1))
                data = self._zlib.unconsumed_tail
        except zlib.error as err:
            raise _BadEncoding(str(err)) from None

    def body(self) -> bytes:
        if self._zlib is not None:
            self._keep(self._zlib.flush())
        return b"".join(self.parts)


async def fetch_feed(
    client: httpx.AsyncClient,
    url: str,
    *,
    policy: FetchPolicy,
    etag: str = "",
    last_modified: str = "",
) -> FetchResult:
    """Fetch one feed within ``policy.deadline``. Never raises for network problems:
    they come back as a result with a ``problem`` code (see feeds.health)."""
    try:
        async with asyncio.timeout(policy.deadline):
            return await _fetch(client, url, policy=policy, etag=etag, last_modified=last_modified)
    except TimeoutError:
        return _error(url, health.DEADLINE, str(int(policy.deadline)))


def _error(url: str, problem: str, detail: str = "", **extra: typing.Any) -> FetchResult:
    return FetchResult(url=url, status="error", problem=problem, detail=detail, **extra)


async def _fetch(
    client: httpx.AsyncClient, url: str, *, policy: FetchPolicy, etag: str, last_modified: str
) -> FetchResult:
    current = url
    permanent = True
    for _hop in range(policy.max_redirects + 1):
        scheme = urlsplit(current).scheme.lower()
        if scheme not in {"http", "https"}:
            return _error(url, health.BAD_SCHEME, scheme + ":")
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        try:
            request = client.build_request("GET", current, headers=headers)
            response = await client.send(request, stream=True)
        except BlockedAddress as err:
            return _error(url, health.BLOCKED_ADDRESS, str(err))
        except ResolveFailed as err:
            return _error(url, health.DNS, str(err))
        except httpx.TimeoutException:
            return _error(url, health.TIMEOUT)
        except httpx.ConnectError as err:
            return _error(url, health.CONNECT, _short(err))
        except (httpx.RemoteProtocolError, httpx.LocalProtocolError) as err:
            return _error(url, health.PROTOCOL, _short(err))
        except httpx.InvalidURL as err:
            return _error(url, health.BAD_SCHEME, _short(err))
        except httpx.HTTPError as err:
            return _error(url, health.UNEXPECTED, _short(err))
        try:
            if response.status_code in _REDIRECTS and response.headers.get("location"):
                permanent = permanent and response.status_code in _PERMANENT
                current = urljoin(current, response.headers["location"])
                await _drain(response)
                continue
            return await _read(response, url=url, final=current, permanent=permanent, policy=policy)
        finally:
            await response.aclose()
    return _error(url, health.REDIRECTS, str(policy.max_redirects))


async def _read(
    response: httpx.Response, *, url: str, final: str, permanent: bool, policy: FetchPolicy
) -> FetchResult:
    status = response.status_code
    common: dict[str, typing.Any] = {
        "http_status": status,
        "moved_to": final if permanent and final != url else "",
        "headers": {k.lower(): v for k, v in response.headers.items()},
    }
    if status == 304:
        await _drain(response)
        return FetchResult(url=final, status="not_modified", **common)
    if status != 200:
        await _drain(response)
        retry = parse_retry_after(response.headers.get("retry-after"))
        if status not in {429, 503}:
            retry = None
        return _error(url, health.HTTP_STATUS, str(status), retry_after=retry, **common)
    try:
        decoder = _Decoder(response.headers.get("content-encoding", ""), policy.max_bytes)
        async for chunk in response.aiter_raw():
            decoder.feed(chunk)
        body = decoder.body()
    except _TooLarge:
        return _error(url, health.TOO_LARGE, str(policy.max_bytes), **common)
    except _BadEncoding as err:
        return _error(url, health.BAD_ENCODING, str(err)[:200], **common)
    except httpx.TimeoutException:
        return _error(url, health.TIMEOUT, **common)
    except httpx.HTTPError as err:
        return _error(url, health.PROTOCOL, _short(err), **common)
    return FetchResult(
        url=final,
        status="ok",
        body=body,
        content_type=response.headers.get("content-type", ""),
        etag=response.headers.get("etag", "")[:500],
        last_modified=response.headers.get("last-modified", "")[:100],
        **common,
    )


_DRAIN_LIMIT = 64 * 1024


async def _drain(response: httpx.Response) -> None:
    """Read a small body we do not need (a 304's, a redirect's, an error page's) to
    its end, so the connection goes back to the pool: closing a response mid-body
    closes its connection, and an all-304 refresh paid a new TCP connection per
    feed. A large body is not worth reading; the connection is closed instead."""
    read = 0
    try:
        async for chunk in response.aiter_raw():
            read += len(chunk)
            if read > _DRAIN_LIMIT:
                return
    except httpx.HTTPError:
        return


def _short(err: Exception) -> str:
    text = str(err).strip().splitlines()
    return (text[0] if text else type(err).__name__)[:200]
