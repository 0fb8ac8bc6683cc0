"""Shared test fixtures: real services started on loopback for the tests that need them."""
