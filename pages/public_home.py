"""Public information page: no sign-in. Renders public shapes only (portal.content)."""

import streamlit as st

from hub.i18n import _, get_language, ngettext
from hub.urls import safe_http_url
from initiatives.models import CHANNEL_LABELS, Channel
from portal.content import PublicQuery
from portal.render import dates, plain_text, status_label, when
from ui.answers import ANSWERS_SEARCH_KEY, contacts_directory, page_of, public_answers
from ui.forms import md, plain
from ui.guards import allow_public
from ui.session import public_content

allow_public()

SEARCH_KEY = "public_search"
AREA_KEY = "public_area"
AUDIENCE_KEY = "public_audience"
CHANNEL_KEY = "public_channel"
PAGE_KEY = "public_page"
ENDED_KEY = "public_ended"

st.title(_("Official information and support"))
st.markdown(
    _(
        "One place for reliable information during the crisis: who is helping, where to "
        "call, and what is available. Maintained by the coordination office with its "
        "public, private and non-profit partners."
    )
)
st.caption(
    _(
        "On a slow connection? [Open the light version of this page](/?lang={lang}) "
        "(no JavaScript, prints well)."
    ).format(lang=get_language())
)

st.header(_("Emergency and support lines"), divider="gray")
official = public_content(
    PublicQuery(answers_text=st.session_state.get(ANSWERS_SEARCH_KEY, "")[:200]), get_language()
)
if official.contacts:
    contacts_directory(official.contacts)
else:
    left, right = st.columns(2)
    left.metric(_("Emergency"), "112")
    right.metric(_("SNS 24 health line"), "808 24 24 24")
public_answers(official)  # questions answered, the question form, measures in force

st.header(_("Support available"), divider="gray")
everything = public_content(PublicQuery(), get_language())
columns = st.columns([2, 2, 2, 1])
text = columns[0].text_input(_("Search"), key=SEARCH_KEY, max_chars=200)
areas = {"": _("Everywhere")} | dict(everything.districts) | dict(everything.municipalities)
area = columns[1].selectbox(
    _("Where you live"), list(areas), key=AREA_KEY, format_func=areas.__getitem__
)
audiences = {"": _("Everyone")} | everything.audiences
audience = columns[2].selectbox(
    _("For whom"), list(audiences), key=AUDIENCE_KEY, format_func=audiences.__getitem__
)
channels = {"": _("Any way")} | {c.value: _(CHANNEL_LABELS[c]) for c in Channel}
channel = columns[3].selectbox(
    _("How"), list(channels), key=CHANNEL_KEY, format_func=channels.__getitem__
)
# "Available" means in force today (active or planned, not past its end date).
ended = st.checkbox(_("Also show what has ended"), key=ENDED_KEY)
page = int(st.session_state.get(PAGE_KEY, 1))
content = public_content(
    PublicQuery.from_params(
        {
            "q": text,
            "area": area,
            "audience": audience,
            "channel": channel,
            "page": str(page),
            "ended": "1" if ended else "",
        }
    ),
    get_language(),
)
for notice in content.notices:
    st.warning(notice)
st.write(
    ngettext("{n} initiative found", "{n} initiatives found", content.initiatives_total).format(
        n=content.initiatives_total
    )
)
if not content.initiatives and content.initiatives_exist:
    st.info(
        _("Nothing matches your search. Try another place or fewer words, or call the lines above.")
    )
elif not content.initiatives:
    st.info(_("No support published yet. Call the lines above."))
for initiative in content.initiatives:
    with st.container(border=True):
        link = safe_http_url(initiative.link, assume_https=False)
        title = md(initiative.title)
        st.markdown(f"**[{title}]({page_of('initiatives', initiative.code)})**")
        is_ended = initiative.code in content.ended_codes
        status = status_label(initiative, ended=is_ended)
        st.caption(
            (f":red-badge[{md(status)}]" if is_ended else f":blue-badge[{md(status)}]")
            + f" {md(dates(initiative.start_date, initiative.end_date))} · "
            + _("Last updated: {when}").format(when=when(initiative.updated_at))
            + (f" · [{_('Website')}]({link})" if link else "")
        )
        st.caption(
            " · ".join(
                filter(
                    None,
                    [
                        md(initiative.organisation),
                        md(", ".join(initiative.participants)),
                        md(content.categories.get(initiative.category, initiative.category)),
                    ],
                )
            )
        )
        if initiative.description:
            plain(initiative.description[:400])
        st.caption(
            " · ".join(
                [
                    _("Where")
                    + ": "
                    + md(", ".join(content.area_names.get(a, a) for a in initiative.areas)),
                    _("For whom")
                    + ": "
                    + md(", ".join(content.audiences.get(g, g) for g in initiative.target_groups)),
                    _("How") + ": " + ", ".join(_(CHANNEL_LABELS[c]) for c in initiative.channels),
                ]
            )
        )
if content.pages > 1:
    st.number_input(
        _("Page {page} of {pages}").format(page=page, pages=content.pages),
        min_value=1,
        max_value=content.pages,
        key=PAGE_KEY,
    )

st.header(_("Latest official information"), divider="gray")
st.caption(_("Last updated: {when}").format(when=when(content.stories_updated_at)))
if not content.stories_by_topic:
    st.info(_("No official news yet."))
for topic, stories in content.stories_by_topic:
    st.subheader(md(topic))
    for story in stories:
        link = safe_http_url(story.link, assume_https=False)
        title = md(story.title)
        st.markdown(f"[{title}]({link})" if link else title)
        summary = plain_text(story.summary_html)
        if summary:
            plain(summary[:300])
        st.caption(
            f"{when(story.first_seen_at)} · "
            + ", ".join(
                md(s.name) + (f" ({md(s.attribution)})" if s.attribution else "")
                for s in story.sources
            )
        )
