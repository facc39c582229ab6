# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON_VERSION := 3.11
VENV := .venv
UV := $(VENV)/bin/uv

.PHONY: demo test lint install system-deps bench clean

$(UV):
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet uv==0.13.9

install: $(UV)
	$(UV) sync --frozen --python $(VENV)/bin/python

system-deps:
	@command -v bwrap >/dev/null && [ -x /usr/bin/chromium ] || { \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap chromium >/dev/null; }

demo: install system-deps
	$(VENV)/bin/gateway demo

lint: install
	$(VENV)/bin/ruff check gateway tests bench analyses
	$(VENV)/bin/ruff format --check gateway tests bench analyses
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

test: install system-deps lint
	$(VENV)/bin/pytest -n 2 --dist loadgroup

bench: install system-deps
	$(VENV)/bin/python -m bench

clean:
	rm -rf $(VENV) .gateway .pytest_cache .mypy_cache .ruff_cache
