"""Form plumbing shared by every page: optimistic locking across reruns, one-write
saves, and the one way to show text that came from partners, feeds or the public."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st
from sqlmodel import Session

from hub.db import session_scope
from hub.errors import HubError, StaleRecord
from hub.i18n import _
from hub.text import escape_markdown
from ui.session import clear_public_caches, flash, get_engine

FORM_VERSIONS_KEY = "hub_form_versions"


def md(text: str) -> str:
    """Escape text from users, partners or feeds so Markdown cannot turn it into links,
    images or markup. Use it for every such text put into a Markdown element."""
    return escape_markdown(text)


def plain(text: str) -> None:
    """Render text from partners, feeds or the public as text: every Markdown character
    escaped, line breaks kept (never ``st.write`` such text)."""
    st.markdown(md(text).replace("\n", "  \n"))


def shown_version(form_key: str, current_version: int) -> int:
    """The record's version when this form was first shown to this user.

    Saving passes it as ``expected_version``; if someone else saved in between, the
    service refuses instead of overwriting their change.
    """
    versions: dict[str, int] = st.session_state.setdefault(FORM_VERSIONS_KEY, {})
    return versions.setdefault(form_key, current_version)


def reset_form(form_key: str) -> None:
    """Forget the form's inputs and remembered version, so it shows the record afresh."""
    st.session_state.setdefault(FORM_VERSIONS_KEY, {}).pop(form_key, None)
    for key in [k for k in st.session_state if str(k).startswith(form_key + "_")]:
        del st.session_state[key]


def reload_button(form_key: str) -> None:
    if st.button(_("Reload the record"), key=f"reload_{form_key}", icon=":material/refresh:"):
        reset_form(form_key)
        st.rerun()


def save_and_rerun(success: str, form_key: str, write: Callable[[Session], object]) -> None:
    """Run one write in its own short session. On success forget the form and rerun with
    ``success`` shown; on a domain error show its message (and a reload button when
    someone else saved first). Nothing is half-written: services commit all or nothing."""
    try:
        with session_scope(get_engine()) as session:
            write(session)
    except StaleRecord as err:
        st.error(str(err))
        reload_button(form_key)
    except HubError as err:
        st.error(str(err))
    else:
        clear_public_caches()
        reset_form(form_key)
        flash(success)
        st.rerun()
