"""Logging out, or a new password, closes the user's live sockets at once."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from config.asgi import application
from streams.live.protocol import CLOSE_SESSION_ENDED

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = (b"origin", b"http://127.0.0.1")
HOST = (b"host", b"127.0.0.1")


async def open_socket(client: Client) -> WebsocketCommunicator:
    cookie = (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())
    socket = WebsocketCommunicator(application, "/ws/live/", headers=[HOST, ORIGIN, cookie])
    connected, _ = await socket.connect(timeout=3)
    assert connected
    assert (await socket.receive_json_from(timeout=3))["type"] == "hello"
    return socket


async def closed_with(socket: WebsocketCommunicator) -> int | None:
    while True:
        message = await socket.receive_output(timeout=3)
        if message["type"] == "websocket.close":
            return message.get("code")


async def test_logout_closes_that_sessions_socket_only(owner: Any) -> None:
    laptop, phone = Client(), Client()
    await database_sync_to_async(laptop.force_login)(owner)
    await database_sync_to_async(phone.force_login)(owner)
    laptop_socket, phone_socket = await open_socket(laptop), await open_socket(phone)
    await database_sync_to_async(laptop.post)("/accounts/logout/")
    assert await closed_with(laptop_socket) == CLOSE_SESSION_ENDED
    await phone_socket.send_json_to({"type": "ping", "t": 1})
    assert (await phone_socket.receive_json_from(timeout=3))["type"] == "pong"
    await phone_socket.disconnect()


async def test_a_new_password_closes_every_socket_of_the_user(owner: Any, outsider: Any) -> None:
    alice, mallory = Client(), Client()
    await database_sync_to_async(alice.force_login)(owner)
    await database_sync_to_async(mallory.force_login)(outsider)
    alice_socket, mallory_socket = await open_socket(alice), await open_socket(mallory)

    def change_password() -> None:
        owner.set_password("a whole new password")
        owner.save()

    await database_sync_to_async(change_password)()
    assert await closed_with(alice_socket) == CLOSE_SESSION_ENDED
    await mallory_socket.send_json_to({"type": "ping", "t": 1})
    assert (await mallory_socket.receive_json_from(timeout=3))["type"] == "pong"
    await mallory_socket.disconnect()


async def test_an_expired_session_cannot_open_a_socket(owner: Any) -> None:
    browser = Client()
    await database_sync_to_async(browser.force_login)(owner)

    def expire() -> None:
        from django.contrib.sessions.models import Session
        from django.utils import timezone

        Session.objects.filter(session_key=browser.cookies["sessionid"].value).update(
            expire_date=timezone.now() - timezone.timedelta(seconds=1)
        )

    await database_sync_to_async(expire)()
    cookie = (b"cookie", f"sessionid={browser.cookies['sessionid'].value}".encode())
    socket = WebsocketCommunicator(application, "/ws/live/", headers=[HOST, ORIGIN, cookie])
    connected, _ = await socket.connect(timeout=3)
    assert not connected
