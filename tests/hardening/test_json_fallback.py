"""Without orjson (it is optional), the stdlib parser refuses hostile JSON the same way."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.hardening.support import ROOT

HOSTILE = {
    "deep": "[" * 3000 + "]" * 3000,
    "deep_in_message": '{"type":"ping","t":' + "[" * 2000 + "]" * 2000 + "}",
    "infinite": '{"type":"ping","t":1e400}',
    "nan": '{"type":"ping","t":NaN}',
    "minus_infinity": '{"type":"ping","t":-Infinity}',
    "huge_int": '{"type":"hello","v":' + "9" * 5000 + ',"name":"Ada"}',
}

PROBE = """
import json, sys
sys.modules["orjson"] = None  # as if the optional extra were not installed
from server import protocol
out = {}
for name, text in json.loads(sys.stdin.read()).items():
    try:
        protocol.parse_text(text)
        out[name] = "accepted"
    except protocol.ProtocolError as exc:
        out[name] = exc.code
    except BaseException as exc:
        out[name] = type(exc).__name__
out["pong"] = protocol.pong(protocol.parse_text('{"type":"ping","t":1e300}').t)
print(json.dumps(out))
"""


def test_stdlib_fallback_answers_bad_json_not_an_internal_error() -> None:
    run = subprocess.run(
        [sys.executable, "-c", PROBE],
        input=json.dumps(HOSTILE),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    out = json.loads(run.stdout)
    assert {name: out[name] for name in HOSTILE} == {name: "bad_json" for name in HOSTILE}
    json.loads(out["pong"])  # what we send back is still strict JSON
