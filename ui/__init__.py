"""The faces' Streamlit helpers: session state and guards, form plumbing, and one module
of widgets per domain. The only code besides ``pages/``, ``hub_app.py`` and
``asgi_app.py`` that imports streamlit; domain code never imports ``ui``."""
