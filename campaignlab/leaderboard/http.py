"""HTTP hardening of the service: security headers, bounded and timed request bodies, a header timeout.

* :class:`SecurityHeaders`: every response carries a strict Content-Security-Policy (the pages' one
  inline stylesheet is allowed by its hash; no script, no frames, no external loads),
  ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY`` and ``Referrer-Policy: no-referrer``.
* :func:`read_body_limited`: an upload is refused with 413 as soon as it exceeds the limit, and with 408
  when it does not arrive within the body timeout (a trickled upload is cut off).
* :func:`timed_h11_protocol`: uvicorn's h11 protocol with a header timeout; uvicorn itself waits for
  slow request headers forever (a "slowloris" client holds a connection open at no cost).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from typing import Any

import h11
from fastapi import HTTPException, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol


def csp(inline_styles: tuple[str, ...] = ()) -> str:
    """The Content-Security-Policy: nothing but the given inline stylesheets (by sha256) and same-origin
    images."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in inline_styles
    )
    styles = hashes or "'none'"
    return (
        f"default-src 'none'; style-src {styles}; img-src 'self' data:; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )


class SecurityHeaders:
    """Pure ASGI middleware adding the security headers to every HTTP response (streaming-safe)."""

    def __init__(self, app: ASGIApp, policy: str) -> None:
        self.app = app
        self.headers = [
            (b"content-security-policy", policy.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"no-referrer"),
            (b"cross-origin-resource-policy", b"same-origin"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *self.headers]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def read_body_limited(request: Request, limit: int, timeout: float) -> bytes:
    """Read the request body, refusing with 413 as soon as it exceeds ``limit`` bytes and with 408 when
    it has not fully arrived ``timeout`` seconds after the request's headers.

    The connection is not closed with the answer (closing a socket with unread data resets it, and the
    client may never see the answer): uvicorn discards the rest of the body, and the header timeout of
    :func:`timed_h11_protocol` closes the connection if the client keeps sending it.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"upload of {int(declared)} bytes exceeds the limit of {limit} bytes")
    buf = bytearray()
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.stream():
                buf += chunk
                if len(buf) > limit:
                    raise HTTPException(413, f"upload exceeds the limit of {limit} bytes")
    except TimeoutError:
        raise HTTPException(
            408,
            f"the upload did not arrive within the body read timeout of {timeout:g} s "
            f"({len(buf)} bytes received)",
        ) from None
    return bytes(buf)


class _TimedH11Protocol(H11Protocol):
    """h11 protocol that closes a connection whose request headers do not arrive within
    ``header_timeout`` seconds (of the connection, or of the previous response on it)."""

    header_timeout = 10.0

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._header_timer: asyncio.TimerHandle | None = None
        self._arm_header_timer()

    def _arm_header_timer(self) -> None:
        self._cancel_header_timer()
        self._header_timer = self.loop.call_later(self.header_timeout, self._header_timeout_expired)

    def _cancel_header_timer(self) -> None:
        if getattr(self, "_header_timer", None) is not None:
            assert self._header_timer is not None
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timeout_expired(self) -> None:
        self._header_timer = None
        waiting_for_headers = self.cycle is None or self.cycle.response_complete
        if waiting_for_headers and not self.transport.is_closing():
            self.logger.info("closing a connection whose request headers took over %gs", self.header_timeout)
            if self.conn.our_state != h11.ERROR:
                self.conn.send(h11.ConnectionClosed())
            self.transport.close()

    def handle_events(self) -> None:
        super().handle_events()
        if self.cycle is not None and not self.cycle.response_complete:
            self._cancel_header_timer()  # headers are in; the body has its own timeout

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)


def timed_h11_protocol(header_timeout: float) -> type[H11Protocol]:
    """The protocol class to pass as uvicorn's ``http=``, with the given header timeout in seconds."""
    return type("TimedH11Protocol", (_TimedH11Protocol,), {"header_timeout": float(header_timeout)})
