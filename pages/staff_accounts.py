"""Administrators: create accounts, disable them, reset passwords, set role and organisation."""

import pandas as pd
import streamlit as st

from hub.auth import Role
from hub.db import session_scope
from hub.errors import HubError, StaleRecord
from hub.i18n import _
from partners.accounts import (
    create_account,
    list_accounts,
    reset_password,
    set_account_active,
    update_account,
)
from partners.models import AccountDraft
from partners.service import list_organisations
from ui.forms import reload_button, reset_form, shown_version
from ui.guards import require_role
from ui.session import flash, get_engine, role_label, sessions_table

principal = require_role(Role.ADMIN)

NEW_FORM = "accounts_new"
EDIT_FORM = "accounts_edit"
SEARCH_KEY = "accounts_search"
PICK_KEY = "accounts_pick"
TEMPORARY_KEY = "accounts_temporary_password"

st.title(_("Accounts"))

with session_scope(get_engine()) as session:
    accounts = list_accounts(
        session=session, actor=principal, search=st.session_state.get(SEARCH_KEY, "")
    )
    organisations = {o.id: o.name for o in list_organisations(session=session)}

handed_over = st.session_state.pop(TEMPORARY_KEY, None)
if handed_over:
    st.warning(
        _(
            "One-time password for {email}: {password} — hand it over now; it is not shown "
            "again. The user must change it at first sign-in."
        ).format(email=handed_over[0], password=f"`{handed_over[1]}`"),
        icon=":material/key:",
    )

st.text_input(_("Search by e-mail or name"), key=SEARCH_KEY)
if accounts:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    _("E-mail"): a.email,
                    _("Name"): a.display_name,
                    _("Role"): role_label(a.role),
                    _("Organisation"): a.organisation_name or "—",
                    _("Active"): a.active,
                    _("Locked"): a.locked,
                    _("Must change password"): a.must_change_password,
                    _("Last sign-in"): a.last_login_at,
                }
                for a in accounts
            ]
        ),
        hide_index=True,
        width="stretch",
    )
else:
    st.info(_("No account matches the search."))

roles = list(Role)
org_ids = [None, *organisations]


def organisation_name(organisation_id: int | None) -> str:
    return organisations[organisation_id] if organisation_id else _("None (office staff)")


with st.expander(_("Create an account"), icon=":material/person_add:"), st.form(NEW_FORM):
    email = st.text_input(_("E-mail"), key=f"{NEW_FORM}_email")
    name = st.text_input(_("Name"), key=f"{NEW_FORM}_name")
    role = st.selectbox(
        _("Role"),
        roles,
        index=roles.index(Role.PARTNER),
        format_func=role_label,
        key=f"{NEW_FORM}_role",
    )
    organisation_id = st.selectbox(
        _("Organisation (partner accounts)"),
        org_ids,
        format_func=organisation_name,
        key=f"{NEW_FORM}_org",
    )
    password = st.text_input(
        _("Password (leave empty to generate a one-time password)"),
        type="password",
        key=f"{NEW_FORM}_password",
        autocomplete="new-password",
    )
    if st.form_submit_button(_("Create account"), type="primary"):
        try:
            with session_scope(get_engine()) as session:
                account, temporary = create_account(
                    session=session,
                    actor=principal,
                    draft=AccountDraft(
                        email=email,
                        display_name=name,
                        role=role,
                        organisation_id=organisation_id,
                        password=password or None,
                    ),
                )
        except HubError as err:
            st.error(str(err))
        else:
            if temporary:
                st.session_state[TEMPORARY_KEY] = (account.email, temporary)
            reset_form(NEW_FORM)
            flash(_("Created the account {email}.").format(email=account.email))
            st.rerun()

st.subheader(_("Change an account"))
if accounts:
    by_id = {a.id: a for a in accounts}
    picked_id = st.selectbox(
        _("Account"),
        list(by_id),
        key=PICK_KEY,
        format_func=lambda i: f"{by_id[i].email} ({by_id[i].display_name})",
    )
    account_view = by_id[picked_id]
    form_key = f"{EDIT_FORM}_{picked_id}"
    version = shown_version(form_key, account_view.version)
    with st.form(form_key):
        new_name = st.text_input(_("Name"), value=account_view.display_name, key=f"{form_key}_name")
        new_role = st.selectbox(
            _("Role"),
            roles,
            index=roles.index(account_view.role),
            format_func=role_label,
            key=f"{form_key}_role",
        )
        new_org = st.selectbox(
            _("Organisation (partner accounts)"),
            org_ids,
            index=org_ids.index(account_view.organisation_id)
            if account_view.organisation_id in org_ids
            else 0,
            format_func=organisation_name,
            key=f"{form_key}_org",
        )
        save, toggle, reset = st.columns(3)
        saved = save.form_submit_button(_("Save changes"), type="primary")
        toggled = toggle.form_submit_button(
            _("Disable account") if account_view.active else _("Enable account")
        )
        reset_requested = reset.form_submit_button(_("Reset password"))
    if saved or toggled or reset_requested:
        try:
            with session_scope(get_engine()) as session:
                if saved:
                    update_account(
                        session=session,
                        actor=principal,
                        account_id=picked_id,
                        display_name=new_name,
                        role=new_role,
                        organisation_id=new_org,
                        expected_version=version,
                    )
                elif toggled:
                    set_account_active(
                        session=session,
                        actor=principal,
                        account_id=picked_id,
                        active=not account_view.active,
                        expected_version=version,
                    )
                else:
                    changed, temporary = reset_password(
                        session=session,
                        actor=principal,
                        account_id=picked_id,
                        expected_version=version,
                    )
                    st.session_state[TEMPORARY_KEY] = (changed.email, temporary)
        except StaleRecord as err:
            st.error(str(err))
            reload_button(form_key)
        except HubError as err:
            st.error(str(err))
        else:
            reset_form(form_key)
            flash(_("Saved."))
            st.rerun()
    sessions_table(actor=principal, account_id=picked_id, key=f"{form_key}_sessions")
