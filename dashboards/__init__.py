"""The Streamlit dashboard: app.py (st.navigation) + app_pages/ + charts.

Pages stay thin: every read goes through :mod:`dashboards.data`, cached wrappers
around :mod:`steward.queries` keyed by the viewer's access scope.
"""
