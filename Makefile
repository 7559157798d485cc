# DTFL: the single entry point. `make demo` and `make test` set up a fresh machine themselves.
SHELL := /bin/bash
PY := .venv/bin/python
export QT_QPA_PLATFORM ?= offscreen

.PHONY: web-assets setup test test-fast test-host test-other chroot demo run package translations lint format bench sandbox sandbox-stop sandbox-status clean

setup:
	@scripts/setup.sh

## The whole suite on this machine's QGIS, then on the other Debian release's QGIS (chroot).
test: setup
	@scripts/test.sh

## The headless subset for the edit-test loop (about 80 s): no sandbox servers, no widgets, nothing marked slow.
test-fast: setup
	@$(PY) -m pytest -m "not sandbox and not gui and not slow" -q $(ARGS)

test-host: setup
	@scripts/test.sh --host-only

test-other: setup
	@scripts/test.sh --other-only

## Build (or refresh) the cached chroot with the other Debian release's QGIS; `scripts/chroot.sh shell` enters it.
chroot: setup
	@scripts/chroot.sh build

demo: setup
	@$(PY) scripts/demo.py

run: setup
	@scripts/run.sh

package: setup translations
	@scripts/package.sh

translations: setup
	@$(PY) scripts/i18n.py

lint: setup
	@.venv/bin/ruff check . && .venv/bin/ruff format --check .

format: setup
	@.venv/bin/ruff format . && .venv/bin/ruff check --fix .

## Refresh the vendored web libraries of the published page (needs npm; pinned in web/package-lock.json).
web-assets:
	@scripts/web_assets.sh

bench: setup
	@$(PY) bench/run_all.py

sandbox: setup
	@$(PY) -m sandbox start

sandbox-stop:
	@$(PY) -m sandbox stop

sandbox-status:
	@$(PY) -m sandbox status

clean:
	rm -rf dist build .sandbox demo-output .run-profile i18n/*.qm i18n/*.ts
