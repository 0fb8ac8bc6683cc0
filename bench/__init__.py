"""Load bots and the benchmark harness: `python -m bench`."""
