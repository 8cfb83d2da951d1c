"""My account: change password (forced after an administrator's reset), and the open
sessions: where this account is signed in, each one can be ended."""

import streamlit as st

from hub.db import session_scope
from hub.errors import InvalidInput, PermissionDenied
from hub.i18n import _
from partners.accounts import change_own_password, must_change_password
from ui.api import api_section
from ui.forms import md
from ui.guards import require_signed_in
from ui.session import current_token, get_engine, role_label, sessions_table

principal = require_signed_in(password_change_page=True)

PASSWORD_FORM = "account_password_form"


st.title(_("My account"))
st.write(f"**{md(principal.display_name)}** · {md(principal.email)} · {role_label(principal.role)}")

with session_scope(get_engine()) as session:
    forced = must_change_password(session=session, account_id=principal.account_id)
if forced:
    st.warning(_("Choose a new password before you continue: yours was set by an administrator."))

st.subheader(_("Change password"))
with st.form(PASSWORD_FORM, clear_on_submit=True):
    current = st.text_input(_("Current password"), type="password", autocomplete="current-password")
    new = st.text_input(
        _("New password (at least 10 characters)"), type="password", autocomplete="new-password"
    )
    repeated = st.text_input(_("New password again"), type="password", autocomplete="new-password")
    submitted = st.form_submit_button(_("Change password"), type="primary")

if submitted:
    if new != repeated:
        st.error(_("New password again: the two new passwords differ."))
    else:
        try:
            with session_scope(get_engine()) as session:
                change_own_password(
                    session=session,
                    actor=principal,
                    current_password=current,
                    new_password=new,
                    keep_session_token=current_token(),  # every other session ends
                )
        except (InvalidInput, PermissionDenied) as err:
            st.error(str(err))
        else:
            st.success(_("Password changed. Your other sessions were ended."))
            if forced:
                st.rerun()

sessions_table(actor=principal, account_id=principal.account_id, key="account_sessions")

api_section(actor=principal)  # API keys and webhooks (issue 17)
