# Origin Desk. Every target installs what it needs first and is safe to run again.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMPS := .stamps

.PHONY: run test bench screenshot lint deps clean

run: deps
	$(PY) -m app gui

test: deps
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -p no:cacheprovider

bench: deps
	@QT_QPA_PLATFORM=offscreen $(PY) -m bench

screenshot: deps
	@mkdir -p build/screenshots
	xvfb-run -a -s "-screen 0 1440x900x24" env QT_QPA_PLATFORM=xcb \
	    $(PY) -m app gui --screenshot build/screenshots/main-window.png
	@echo "build/screenshots/main-window.png"

lint: deps
	$(VENV)/bin/ruff check app tests bench

deps: $(STAMPS)/system $(STAMPS)/venv

$(STAMPS)/system: installers/system-packages.txt installers/ensure-system-packages.sh
	@installers/ensure-system-packages.sh
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/venv: pyproject.toml $(STAMPS)/system
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]' --config-settings editable_mode=compat
	@mkdir -p $(STAMPS) && touch $@

clean:
	rm -rf $(VENV) $(STAMPS) build .pytest_cache
