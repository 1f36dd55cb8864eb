"""The HTTP API (FastAPI): ``create_app(settings)`` in :mod:`.app`, run by ``leadrelay serve``.

Thin like the command line: an endpoint checks who is asking (:mod:`.deps`), parses the request
into a pydantic model, calls one method of :class:`~leadrelay.entrypoints.api.LeadRelay` and returns
its read model; errors are problem details (:mod:`.problems`).
"""
