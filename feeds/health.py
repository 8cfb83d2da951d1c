"""Problems a poll can meet, as codes stored on the source's state and as the
sentences staff read (translated when shown, not when stored)."""

from __future__ import annotations

from hub.i18n import _

BLOCKED_ADDRESS = "blocked_address"
BAD_SCHEME = "bad_scheme"
DNS = "dns"
CONNECT = "connect"
TIMEOUT = "timeout"
DEADLINE = "deadline"
TOO_LARGE = "too_large"
REDIRECTS = "redirects"
HTTP_STATUS = "http_status"
BAD_ENCODING = "bad_encoding"
PROTOCOL = "protocol"
UNEXPECTED = "unexpected"
# from feeds.parse
NOT_A_FEED = "not_a_feed"
EMPTY = "empty"
UNREADABLE = "unreadable"
PARTIAL = "partial"
TOO_SLOW = "too_slow"
SKIPPED = "skipped"
NEVER_FETCHED = ""


def describe(code: str, detail: str = "") -> str:
    """The problem as a sentence that says what happened and what to do."""
    if not code:
        return ""
    if code == HTTP_STATUS:
        return _describe_status(detail)
    sentences = {
        BLOCKED_ADDRESS: _(
            "The address {detail} is private, loopback or link-local, so the hub refuses "
            "to fetch it. Use the feed's public address, or ask an administrator to add the "
            "host to HUB_FETCH_ALLOW_HOSTS."
        ),
        BAD_SCHEME: _(
            "Only http:// and https:// feed addresses can be fetched ({detail}). Correct the URL."
        ),
        DNS: _(
            "The host name {detail} could not be found. Check the address, or the "
            "server's internet connection; the hub will try again."
        ),
        CONNECT: _("The feed's server could not be reached ({detail}). The hub will try again."),
        TIMEOUT: _("The feed's server did not answer in time. The hub will try again later."),
        DEADLINE: _(
            "The fetch took longer than {detail} seconds and was stopped (a very slow "
            "server). The hub will try again later."
        ),
        TOO_LARGE: _(
            "The feed is larger than {detail} bytes once decompressed, so it was not read. "
            "Ask the publisher for a shorter feed."
        ),
        REDIRECTS: _(
            "The address redirects too many times (more than {detail}; a redirect loop?). "
            "Check the URL in a browser."
        ),
        BAD_ENCODING: _(
            "The server sent the feed in an encoding the hub does not read ({detail})."
        ),
        PROTOCOL: _("The server broke the HTTP protocol ({detail}). The hub will try again."),
        NOT_A_FEED: _(
            "The address returned a web page, not a feed (perhaps a sign-in or bot-check "
            "page). Check the feed URL."
        ),
        EMPTY: _("The server sent an empty document. The items already read are kept."),
        UNREADABLE: _(
            "The document could not be read as RSS, Atom or JSON Feed ({detail}). "
            "The items already read are kept."
        ),
        PARTIAL: _(
            "The feed is not well-formed; the {detail} items that could be read were kept. "
            "Tell the publisher if this persists."
        ),
        TOO_SLOW: _(
            "Reading the feed took longer than {detail} seconds and was stopped. The items "
            "already read are kept; tell the publisher if this persists."
        ),
        SKIPPED: _(
            "Entries skipped because they have no title, link or text: {detail}. The "
            "other items were read; tell the publisher if this persists."
        ),
        UNEXPECTED: _("The fetch failed unexpectedly ({detail}). The hub will try again."),
    }
    template = sentences.get(code, _("The last poll failed ({detail})."))
    return template.format(detail=detail or code)


def _describe_status(detail: str) -> str:
    status = int(detail) if detail.isdigit() else 0
    if status == 404:
        return _(
            "The server answered 404 Not Found: the feed is not at this address. "
            "Check the URL with the publisher."
        )
    if status == 410:
        return _(
            "The server answered 410 Gone: the publisher removed this feed. Find its new "
            "address or disable the source; the hub keeps checking, rarely."
        )
    if status == 429:
        return _(
            "The server answered 429 Too Many Requests; the hub waits as long as it asks "
            "before trying again."
        )
    if status in {401, 403}:
        return _(
            "The server refused access ({status}). The feed may need a sign-in or block "
            "robots; ask the publisher."
        ).format(status=status)
    if status >= 500:
        return _("The feed's server had an error ({status}). The hub will try again later.").format(
            status=status
        )
    return _("The server answered HTTP {status} instead of the feed.").format(status=detail)
