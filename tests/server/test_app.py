"""The listening socket: a burst of arrivals while the event loop is busy is queued, not dropped."""

from __future__ import annotations

import socket
import threading
import time

from tests.server.conftest import StartServer

BURST = 400  # four times asyncio's default backlog of 100


async def test_a_burst_of_connections_waits_in_the_kernel_while_the_loop_is_busy(
    start_server: StartServer,
) -> None:
    app = await start_server()
    queued: list[socket.socket] = []
    refused = 0

    def connect_all() -> None:
        nonlocal refused
        for _ in range(BURST):
            try:  # completes in the kernel's accept queue, if it has room; no one accepts yet
                queued.append(socket.create_connection(("127.0.0.1", app.port), timeout=0.5))
            except OSError:
                refused += 1  # the SYN was dropped: a real client would wait 1 s to retry
                if refused > 3:
                    return

    burst = threading.Thread(target=connect_all)
    burst.start()
    time.sleep(1.0)  # blocks the event loop on purpose: a server busy with a long tick batch
    burst.join(timeout=10)
    try:
        assert refused == 0 and len(queued) == BURST
    finally:
        for s in queued:
            s.close()
