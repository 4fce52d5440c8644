"""Dashboard sections that live outside ``dashboards/app.py`` (each one function)."""
