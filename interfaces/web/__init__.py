"""Server-rendered web pages (Jinja2 + htmx, NHS.UK frontend) over the same services as the API."""
