"""Sign-in page (public): the workspace's way to the /signin form (portal/signin.py),
which sets the session cookie; in single sign-on mode, the identity provider's button."""

import streamlit as st

from hub import settings
from hub.i18n import _
from ui.forms import md
from ui.guards import allow_public, link
from ui.session import WORKSPACE_PATH, signin_url

principal = allow_public()

NEXT_PARAM = "next"


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
wanted = st.query_params.get(NEXT_PARAM, "")  # /signin accepts only local paths
st.write(_("Sign in on the hub's sign-in page; you come back here afterwards."))
link(_("Go to the sign-in page"), signin_url(wanted or WORKSPACE_PATH))
if settings.demo_mode():
    st.caption(_("The sign-in page lists the demo accounts and their password."))
