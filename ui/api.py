"""The account page's API section: API keys, webhook subscriptions and their delivery log
(issue 17). The services check who may do what; this only renders and calls them."""

from __future__ import annotations

from datetime import datetime, timedelta

import streamlit as st
from babel.dates import format_datetime

from hub.auth import Principal
from hub.db import session_scope
from hub.errors import HubError
from hub.i18n import _
from hub.records import utcnow
from partners.api_keys import SCOPE_LABELS, ApiScope, create_api_key, list_api_keys, revoke_api_key
from partners.webhooks import (
    EVENT_TYPES,
    deliveries,
    rotate_secret,
    send_again,
    set_active,
    subscribe,
    subscriptions_for,
)
from ui.forms import md
from ui.session import flash, get_engine

KEY_FORM = "api_key_form"
HOOK_FORM = "api_webhook_form"
SHOWN_ONCE = "api_shown_once"  # (label, secret) to show after the rerun, then forget


def _when(moment: datetime | None) -> str:
    return format_datetime(moment, format="short") if moment else _("never")


def _show_once() -> None:
    shown = st.session_state.pop(SHOWN_ONCE, None)
    if shown:
        label, secret = shown
        st.warning(_("{what}: copy it now, it is not shown again.").format(what=label))
        st.code(secret, language=None)


def _keys(actor: Principal) -> None:
    st.subheader(_("API keys"))
    st.caption(
        _(
            "A key lets your organisation's system use the hub's API (/api/v1, see its docs "
            "page) as you: the same records and rules as your forms. Keep it secret; revoke "
            "a key you no longer use."
        )
    )
    with st.form(KEY_FORM, clear_on_submit=True):
        name = st.text_input(_("What the key is for"), max_chars=120)
        scopes = list(ApiScope)
        scope = st.radio(
            _("Access"), scopes, format_func=lambda s: _(SCOPE_LABELS[s]), horizontal=True
        )
        days = st.number_input(_("Expires after (days, 0 for never)"), 0, 3650, 365)
        create = st.form_submit_button(_("Create key"), type="primary")
    if create:
        try:
            with session_scope(get_engine()) as session:
                key, raw = create_api_key(
                    session=session,
                    actor=actor,
                    name=name,
                    scope=scope,
                    expires_at=utcnow() + timedelta(days=int(days)) if days else None,
                )
        except HubError as err:
            st.error(str(err))
        else:
            st.session_state[SHOWN_ONCE] = (
                _("The new key {prefix}").format(prefix=key.prefix),
                raw,
            )
            st.rerun()
    with session_scope(get_engine()) as session:
        keys = list_api_keys(session=session, actor=actor)
    if not keys:
        st.caption(_("No API keys yet."))
    for key in keys:
        text, action = st.columns([4, 1], vertical_alignment="center")
        state = _("revoked") if key.revoked_at else _(SCOPE_LABELS[key.scope])
        text.markdown(
            _("**{name}** · `{prefix}` · {state} · last used {used} · expires {expires}").format(
                name=md(key.name),
                prefix=key.prefix,
                state=state,
                used=_when(key.last_used_at),
                expires=_when(key.expires_at),
            )
        )
        if key.revoked_at is None and action.button(_("Revoke"), key=f"api_revoke_{key.id}"):
            with session_scope(get_engine()) as session:
                revoke_api_key(session=session, actor=actor, key_id=key.id or 0)
            flash(_("Key {prefix} revoked: it is refused from now on.").format(prefix=key.prefix))
            st.rerun()


def _delivery_log(actor: Principal, subscription_id: int) -> None:
    with session_scope(get_engine()) as session:
        log = deliveries(session=session, actor=actor, subscription_id=subscription_id, limit=20)
    if not log:
        st.caption(_("Nothing delivered yet."))
    for delivery in log:
        text, action = st.columns([4, 1], vertical_alignment="center")
        text.markdown(
            _("{at} · {event} · {outcome} · {code} {error}").format(
                at=_when(delivery.at),
                event=delivery.event_type,
                outcome=delivery.outcome,
                code=delivery.response_code or "",
                error=md(delivery.error),
            )
        )
        if action.button(_("Send again"), key=f"api_again_{delivery.id}"):
            with session_scope(get_engine()) as session:
                send_again(session=session, actor=actor, delivery_id=delivery.id or 0)
            flash(_("Queued again; it leaves within a few seconds."))
            st.rerun()


def _webhooks(actor: Principal) -> None:
    st.subheader(_("Webhooks"))
    st.caption(
        _(
            "The hub POSTs each event you choose to your URL, signed as Standard Webhooks "
            "specify (webhook-id, webhook-timestamp, webhook-signature), and retries for "
            "about three days. Private and local addresses are refused."
        )
    )
    with st.form(HOOK_FORM, clear_on_submit=True):
        url = st.text_input(_("Receiver URL"), max_chars=500, placeholder="https://")
        events = st.multiselect(_("Events"), list(EVENT_TYPES))
        add = st.form_submit_button(_("Subscribe"), type="primary")
    if add:
        try:
            with session_scope(get_engine()) as session:
                subscription, secret = subscribe(
                    session=session, actor=actor, url=url, events=events
                )
        except HubError as err:
            st.error(str(err))
        else:
            label = _("The signing secret of {url}").format(url=subscription.url)
            st.session_state[SHOWN_ONCE] = (label, secret)
            st.rerun()
    with session_scope(get_engine()) as session:
        subscriptions = subscriptions_for(session=session, actor=actor)
    for subscription in subscriptions:
        state = (
            _("on")
            if subscription.active
            else _("off: {reason}").format(reason=subscription.disabled_reason or _("paused"))
        )
        with st.expander(f"{subscription.url} · {state}"):
            st.markdown(", ".join(f"`{event}`" for event in subscription.events))
            toggle, rotate = st.columns(2)
            sid = subscription.id or 0
            if toggle.button(
                _("Pause") if subscription.active else _("Turn on"), key=f"api_toggle_{sid}"
            ):
                with session_scope(get_engine()) as session:
                    set_active(
                        session=session,
                        actor=actor,
                        subscription_id=sid,
                        active=not subscription.active,
                    )
                st.rerun()
            if rotate.button(_("New signing secret"), key=f"api_rotate_{sid}"):
                with session_scope(get_engine()) as session:
                    _sub, secret = rotate_secret(session=session, actor=actor, subscription_id=sid)
                label = _("The new secret (the old one signs too for 24 hours)")
                st.session_state[SHOWN_ONCE] = (label, secret)
                st.rerun()
            _delivery_log(actor, sid)


def api_section(*, actor: Principal) -> None:
    """Keys, then (for partner organisations and staff) webhook subscriptions."""
    _show_once()
    _keys(actor)
    if actor.is_staff or actor.organisation_id is not None:
        _webhooks(actor)
