"""The reference ticker sees a stall of the machine (here, of its own process) and little else."""

from __future__ import annotations

import os
import signal
import time

from tests.hardening.support import ReferenceTicker


def test_the_reference_ticker_reports_a_stall_of_its_process() -> None:
    machine = ReferenceTicker()
    try:
        machine.mark()
        time.sleep(0.5)
        calm = machine.p99()
        machine.mark()
        time.sleep(0.1)
        os.kill(machine.proc.pid, signal.SIGSTOP)  # as a hypervisor stalls a whole VM
        time.sleep(0.4)
        os.kill(machine.proc.pid, signal.SIGCONT)
        time.sleep(0.1)
        machine.realtime = True  # judge the reading itself, whatever the priority
        stalled = machine.p99()
    finally:
        machine.stop()
    assert 0.0 <= calm < 0.1
    assert stalled >= 0.3
