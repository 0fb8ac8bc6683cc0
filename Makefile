# Thin wrappers around ./dev, which does the setup each command needs.
.PHONY: run test lint soak bench
run:
	./dev run
test:
	./dev test
lint:
	./dev lint
soak:
	./dev soak
bench:
	./dev bench
