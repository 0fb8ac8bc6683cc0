"""Every bus test runs over both implementations via the `backend` fixture (tests/support)."""
