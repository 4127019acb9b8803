"""A loopback SMTP server (aiosmtpd) that records every message: fixture ``smtp``.

``smtp.port`` is where to connect (plain SMTP, no auth); ``smtp.messages`` the received
``email.message.Message`` objects, in order.
"""

from __future__ import annotations

import email.message
import socket
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message


class Recorder(Message):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[email.message.Message] = []
        self.port = 0

    def handle_message(self, message: email.message.Message) -> None:
        self.messages.append(message)


@pytest.fixture
def smtp() -> Iterator[Recorder]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    handler = Recorder()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    handler.port = port
    try:
        yield handler
    finally:
        controller.stop()
