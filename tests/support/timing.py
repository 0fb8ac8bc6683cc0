"""The retry policy for tests that time real servers on a shared machine.

The host's hypervisor now and then stalls every process for hundreds of milliseconds; such a
test gets one more try before its failure counts. A real regression fails both.
"""

from __future__ import annotations

import pytest

TIMED = pytest.mark.flaky(reruns=1, reruns_delay=2)
