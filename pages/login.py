"""Sign-in page (public). In demo mode it lists the demo accounts."""

import streamlit as st

from hub import settings
from hub.db import session_scope
from hub.errors import AuthenticationFailed
from hub.i18n import _
from partners.accounts import authenticate
from partners.demo import DEMO_PASSWORD, demo_accounts
from ui.forms import md
from ui.guards import allow_public
from ui.session import get_engine, role_label, sign_in

principal = allow_public()

LOGIN_FORM = "login_form"
EMAIL_KEY = "login_email"
PASSWORD_KEY = "login_password"


st.title(_("Sign in"))
if principal is not None:
    st.success(_("You are signed in as {name}.").format(name=md(principal.display_name)))
    st.stop()

if settings.get("HUB_AUTH_MODE") == "oidc":
    st.write(_("Sign in with your organisation's account."))
    if st.button(_("Sign in with single sign-on"), icon=":material/key:"):
        st.login()
    st.stop()

st.caption(
    _(
        "For coordination office staff and partner organisations. "
        "The public information needs no sign-in."
    )
)
with st.form(LOGIN_FORM):
    email = st.text_input(_("E-mail"), key=EMAIL_KEY, autocomplete="username")
    password = st.text_input(
        _("Password"), type="password", key=PASSWORD_KEY, autocomplete="current-password"
    )
    submitted = st.form_submit_button(_("Sign in"), type="primary")

if submitted:
    try:
        with session_scope(get_engine()) as session:
            signed_in = authenticate(session=session, email=email, password=password)
    except AuthenticationFailed as err:
        st.error(str(err))
    else:
        sign_in(signed_in)
        st.rerun()

if settings.demo_mode():
    st.subheader(_("Demo accounts"))
    st.write(
        _("Every demo account uses the password {password}.").format(password=f"`{DEMO_PASSWORD}`")
    )
    st.table(
        [
            {
                _("E-mail"): demo.email,
                _("Role"): role_label(demo.role),
                _("Organisation"): demo.organisation or "—",
            }
            for demo in demo_accounts()
        ]
    )
