"""A do-nothing 60 Hz tick loop: how late a tick wakes when the code it runs costs nothing.

Run by `support.ReferenceTicker`. Commands on stdin, one per line: `mark` starts a window,
`read` prints the p99 lateness (seconds) of the ticks since the mark.
"""

from __future__ import annotations

import select
import sys
import time

HZ = 60


def main() -> None:
    period = 1.0 / HZ
    start = time.monotonic()
    n = 1
    late: list[float] = []
    while True:
        wait = start + n * period - time.monotonic()
        ready, _, _ = select.select([sys.stdin], [], [], max(0.0, wait))
        if ready:
            command = sys.stdin.readline().strip()
            if command == "mark":
                late = []
            elif command == "read":
                ordered = sorted(late) or [0.0]
                print(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], flush=True)
            else:  # "" at end of input: the test is done
                return
            continue
        now = time.monotonic()
        due = start + n * period
        late.append(now - due)
        n = max(n + 1, int((now - start) / period) + 1)  # missed ticks are skipped, not run


if __name__ == "__main__":
    main()
