"""A test client: a real websocket connection that records messages and tracks game state."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from server import protocol


class Client:
    """Reads every message in the background; applies state frames like the browser does."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.messages: list[dict[str, Any]] = []
        self.frames: list[protocol.DecodedFrame] = []
        self.binary_bytes = 0
        self.binary_count = 0
        self.raw_sizes: list[int] = []  # payload size of every frame received, text or binary
        self.pellets: int | None = None
        self.scores: dict[int, tuple[int, int]] = {}
        self.last_seq: int | None = None
        self.gaps = 0
        self.closed = asyncio.Event()
        self._changed = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, port: int, **kwargs: Any) -> Client:
        ws = await connect(f"ws://127.0.0.1:{port}/ws", compression=None, **kwargs)
        return cls(ws)

    async def _read(self) -> None:
        try:
            async for data in self.ws:
                self.raw_sizes.append(len(data if isinstance(data, bytes) else data.encode()))
                if isinstance(data, bytes):
                    self._apply(data)
                else:
                    self.messages.append(json.loads(data))
                self._changed.set()
        except ConnectionClosed:
            pass
        finally:
            self.closed.set()
            self._changed.set()

    def _apply(self, data: bytes) -> None:
        frame = protocol.decode_state(data)
        self.binary_bytes += len(data)
        self.binary_count += 1
        if frame.kind == protocol.KEYFRAME:
            self.pellets = frame.pellets
            self.scores = dict(frame.scores)
        elif self.last_seq is not None and frame.seq != (self.last_seq + 1) & 0xFFFF:
            self.gaps += 1
        elif self.pellets is not None:
            for index in frame.eaten:
                self.pellets &= ~(1 << index)
            self.scores.update(frame.scores)
        self.last_seq = frame.seq
        self.frames.append(frame)

    async def send(self, msg: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(msg))

    async def hello(self, name: str = "Ada", token: str | None = None) -> dict[str, Any]:
        msg: dict[str, Any] = {"type": "hello", "v": 1, "name": name}
        if token is not None:
            msg["token"] = token
        await self.send(msg)
        return await self.expect("welcome")

    async def wait_for(self, check: Callable[[], Any], timeout: float = 5.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result:
                return result
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"condition not met; last messages: {self.messages[-5:]}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)

    async def expect(
        self,
        kind: str,
        where: Callable[[dict[str, Any]], bool] = lambda m: True,
        timeout: float = 5.0,
    ) -> dict[str, Any]:
        """The first message of `kind` (matching `where`) not yet taken; it is then consumed."""

        def find() -> dict[str, Any] | None:
            for i, m in enumerate(self.messages):
                if m.get("type") == kind and where(m):
                    return self.messages.pop(i)
            return None

        result: dict[str, Any] = await self.wait_for(find, timeout)
        return result

    def me(self, pid: int) -> protocol.DecodedPlayer | None:
        if not self.frames:
            return None
        return next((p for p in self.frames[-1].players if p.id == pid), None)

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
