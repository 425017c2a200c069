# The two Quickstart commands. Both set up .venv first (idempotent).
.PHONY: setup report test lint bench

setup:
	@scripts/setup

# The main job: a compatibility report on every available backend.
report: setup
	.venv/bin/conformance run --out reports/latest

test: setup
	.venv/bin/ruff check .
	.venv/bin/pytest -q

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

bench: setup
	.venv/bin/python bench/bench_engine.py
