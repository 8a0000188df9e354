"""The long poll a page of a class waits on, served beside Gradio and never through its queue.

    GET <page>/classroom/events?room=CODE&since=TOKEN     header X-Classroom-Secret: the page's secret

answers `{"change": token}` as soon as the room's change token differs from `since`, or after
`Limits.wait_s` (25 s) with the same token; the page then asks again. While a class is idle nothing runs on
the server but these waiting requests (one per page, each a suspended coroutine), and a change wakes them
all at once: each page then runs one Gradio event to draw it (`classroom_ui.redraw_room`). Refusals: 403 (this
page is not in a room of this code: it has ended, never was, or the secret is wrong; one answer for all, so
it tells a guesser nothing), 429 (too many refused or repeated requests, or too many waiting pages), 503 (the
database cannot serve); each with a plain `{"error": ...}`.

`RoomEvents` is ASGI middleware installed with the app (`app.launch`), like `traffic.StreamGuard`.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
from urllib.parse import parse_qs

from diffusion_core.classroom.polls import Refused
from diffusion_core.classroom.room_db import RoomsUnavailable
from diffusion_core.classroom.rooms import NotMember, shared_classroom

EVENTS_PATH = "/classroom/events"
NOT_MEMBER, REFUSED, UNAVAILABLE = 403, 429, 503  # the refusals' HTTP statuses
SECRET_HEADER = b"x-classroom-secret"


async def _reply(send, status: int, body: dict) -> None:
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"cache-control", b"no-store"),
                            (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})


def _asked(scope) -> tuple[str, str, str, str]:
    """(room code, since, secret, client) of a request."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1")[:400])
    secret = next((v.decode("latin-1") for k, v in scope.get("headers", ()) if k == SECRET_HEADER), "")
    client = (scope.get("client") or ("unknown", 0))[0]
    return query.get("room", [""])[0][:40], query.get("since", [""])[0][:80], secret[:100], str(client)


async def _disconnected(receive) -> None:
    """Returns when the client has gone (a closed tab stops waiting at once, and leaves the room's presence)."""
    while (await receive())["type"] != "http.disconnect":
        pass


class RoomEvents:
    def __init__(self, app, classroom=shared_classroom):
        self.app = app
        self.classroom = classroom

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope.get("path", "").endswith(EVENTS_PATH):
            return await self.app(scope, receive, send)
        if scope.get("method") != "GET":
            return await _reply(send, 405, {"error": "Use GET."})
        code, since, secret, client = _asked(scope)
        waiting = asyncio.ensure_future(self.classroom().next_change(code, secret, since, client))
        left = asyncio.ensure_future(_disconnected(receive))
        await asyncio.wait({waiting, left}, return_when=asyncio.FIRST_COMPLETED)
        left.cancel()
        if not waiting.done():
            waiting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await waiting
            return None
        try:
            change = waiting.result()
        except NotMember as exc:
            return await _reply(send, NOT_MEMBER, {"error": str(exc)})
        except RoomsUnavailable as exc:
            return await _reply(send, UNAVAILABLE, {"error": str(exc)})
        except Refused as exc:
            return await _reply(send, REFUSED, {"error": str(exc)})
        return await _reply(send, 200, {"change": change})
