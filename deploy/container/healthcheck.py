"""Container health check: exit 0 when the server's /healthz answers 200, else 1.

Runs inside the image (Dockerfile HEALTHCHECK and the ECS task's healthCheck) with only the
standard library, because the slim base image has no curl or wget.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    """Ask the local server for /healthz; a draining server answers 503 and counts as unhealthy."""
    url = f"http://127.0.0.1:{os.environ.get('PORT', '8080')}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"healthcheck: {url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
