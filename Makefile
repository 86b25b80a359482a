# docker-kolla: the two commands a fresh machine needs are `make demo` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
DEB_PACKAGES := docker-registry skopeo git docker.io busybox-static rpm docker-compose
PYTEST_ARGS ?=

.PHONY: help deps venv lint demo demo-stop test test-unit bench clean

help:
	@echo "make demo   - offline demo: local registry, small Kolla fleet, lock -> rebuild -> lock -> diff -> log -> pull"
	@echo "              (the demo registry keeps running for the printed try: commands; make demo-stop ends it)"
	@echo "make test   - install what is missing and run the whole suite against real services"
	@echo "make bench  - benchmarks against skopeo / docker pull (figures as ratios)"
	@echo "make lint   - ruff check, ruff format --check, mypy (strict on core/ and scan/)"

# Debian packages: installed only when missing (apt needs root; CI runs as root).
deps:
	@missing=""; \
	for pkg in $(DEB_PACKAGES); do \
	  dpkg -s $$pkg >/dev/null 2>&1 || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  sudo=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing >/dev/null; \
	fi

# Bytecode up front, and again after every edit (compileall skips what is current):
# with PYTHONDONTWRITEBYTECODE=1 (common in CI) Python would recompile on every command.
venv: $(VENV)/.installed
	@$(PY) -m compileall -q docker_kolla

$(VENV)/.installed: pyproject.toml bin/docker-kolla-plugin
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test,lint]'
	@touch $@

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

demo: deps venv
	$(PY) -m demo

demo-stop:
	@if [ -x $(PY) ]; then $(PY) -m demo stop; else echo "no $(VENV): nothing to stop"; fi

test: deps venv lint
	$(PY) -m pytest $(PYTEST_ARGS)

test-unit: venv
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

bench: deps venv
	cd bench && ../$(PY) __main__.py $(BENCH)

clean:
	-@[ -x $(PY) ] && $(PY) -m demo stop >/dev/null
	rm -rf $(VENV) .pytest_cache *.egg-info .demo bench/results
