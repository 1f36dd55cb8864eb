"""A limit on the size of request bodies, counted as the bytes arrive.

:class:`BodyLimit` is pure ASGI middleware: a declared ``Content-Length`` over the limit is refused
at once, and a body sent without one (chunked) or larger than it declared is counted as it streams
in; when the count passes the limit the client gets a 413 problem and the endpoint sees the
request end (a disconnect), so it cannot act on a truncated body.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leadrelay.entrypoints.http.problems import request_lang, send_problem
from leadrelay.entrypoints.i18n import t


class BodyLimit:
    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        detail = t("body_too_large", request_lang(headers)).format(limit=self.limit)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.limit:
            await send_problem(scope, send, 413, detail, {"Connection": "close"})
            return
        received = 0
        refused = False
        started = False

        async def counted() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    refused = True
                    if not started:
                        await send_problem(scope, send, 413, detail, {"Connection": "close"})
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if refused:  # the 413 is sent: what the endpoint answers to a cut-off body is dropped
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except Exception:
            if not refused:
                raise
