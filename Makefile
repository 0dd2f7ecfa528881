# Origin Desk. Every target installs what it needs first and is safe to run again.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMPS := .stamps

.PHONY: run test bench screenshot lint deps clean dist deb check-dist check-deb

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

# The one-folder bundle (installers/pyinstaller): dist/origin-desk/origin-desk
dist: $(STAMPS)/dist-tools
	$(VENV)/bin/pyinstaller --noconfirm --clean --log-level WARN \
	    --distpath dist --workpath build/pyinstaller installers/pyinstaller/origin-desk.spec
	@echo "dist/origin-desk/origin-desk"

# The Debian package of the bundle: dist/origin-desk_VERSION_amd64.deb
deb: dist
	installers/debian/build-deb.sh dist/origin-desk dist

# CI (after make test): build the bundle, run its self-test, build the .deb and show it
check-dist: deb
	dist/origin-desk/origin-desk --self-test
	dpkg-deb --info dist/origin-desk_*_amd64.deb
	dpkg-deb --contents dist/origin-desk_*_amd64.deb | grep -E ' ./(usr/bin/origin-desk|usr/share/applications/origin-desk.desktop|opt/origin-desk/origin-desk)'

# Install the .deb on a brand-new Debian root and run its self-test there (slow: by hand)
check-deb: deb
	installers/debian/check-deb.sh

$(STAMPS)/dist-tools: pyproject.toml $(STAMPS)/venv
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev,dist]' --config-settings editable_mode=compat
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/system: installers/system-packages.txt installers/ensure-system-packages.sh
	@installers/ensure-system-packages.sh
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/venv: pyproject.toml $(STAMPS)/system
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]' --config-settings editable_mode=compat
	@mkdir -p $(STAMPS) && touch $@

clean:
	rm -rf $(VENV) $(STAMPS) build dist .pytest_cache
