"""Trusted feeds: sources, fetch, parse, sanitize, store, schedule (issue 5).

Plain Python; never imports streamlit. Pages call ``feeds.service``; the scheduler
(``feeds.scheduler``) and the CLI call ``feeds.worker``.
"""
