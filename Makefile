# The two Quickstart commands. Both set up .venv first (idempotent).
.PHONY: setup report test lint bench

setup:
	@scripts/setup

# The main job: a compatibility report on every available backend, recorded with
# its history; reports land in reports/<date>/ and reports/latest/.
report: setup
	.venv/bin/conformance nightly

test: setup
	.venv/bin/ruff check .
	.venv/bin/pytest -q -n 2

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

bench: setup
	.venv/bin/python bench/bench_engine.py
