# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON_VERSION := 3.11
VENV := .venv
TOOLS := .tools
UV := $(TOOLS)/bin/uv
export UV_PROJECT_ENVIRONMENT := $(VENV)
LINT_PATHS := $(wildcard gateway tests bench analyses)

.PHONY: demo test lint install system-deps browser-deps bench clean

$(UV):
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==0.13.9

install: $(UV)
	$(UV) sync --frozen --compile-bytecode --python python3.11

system-deps:
	@{ command -v bwrap && /sbin/ldconfig -p | grep -q libseccomp.so.2; } >/dev/null || { \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap libseccomp2 >/dev/null; }

browser-deps:
	@[ -x /usr/bin/chromium ] || { \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

demo: install system-deps
	$(VENV)/bin/gateway demo

lint: install
	$(VENV)/bin/ruff check $(LINT_PATHS)
	$(VENV)/bin/ruff format --check $(LINT_PATHS)
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

test: install system-deps browser-deps lint
	$(VENV)/bin/pytest -n 2 --dist loadgroup

bench: install system-deps
	$(VENV)/bin/python -m bench

clean:
	rm -rf $(VENV) $(TOOLS) .gateway .pytest_cache .mypy_cache .ruff_cache
