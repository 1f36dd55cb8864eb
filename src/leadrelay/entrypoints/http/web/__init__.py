"""The dashboard: server-rendered pages (Jinja2) on the same FastAPI app as the API, reading the
same typed models through the same :class:`~leadrelay.entrypoints.api.LeadRelay` methods."""
