# GridDesk — the two commands of the quick start: `make demo` and `make test`.
# The distribution's CPython when it has one with venv (Debian's python3.11, which is what
# docs/OPERATIONS.md installs with): built with PGO and LTO, it runs the app's Python ~10 % faster
# than a plain source build such as pyenv's (docs/PERFORMANCE.md, 2026-12-06).
PYTHON ?= $(shell /usr/bin/python3.11 -c "import ensurepip" 2>/dev/null && echo /usr/bin/python3.11 || echo python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
CATALOG := admin_app/translations/zh_Hans_CN/LC_MESSAGES

.PHONY: demo test soak install translations screenshots bench clean

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

## The compiled catalog is built from messages.po, never committed (it would conflict on every merge).
$(CATALOG)/messages.mo: $(CATALOG)/messages.po $(STAMP)
	$(VENV)/bin/pybabel compile -d admin_app/translations

## Flask-Admin's own Chinese, compiled from the .po it ships: the .mo beside it is older and
## lacks messages such as 保存记录失败 (they showed in English). admin_app/admin.py points there.
$(CATALOG)/admin.mo: $(STAMP)
	$(VENV)/bin/pybabel compile -D admin -o $@ -i "$$($(PY) -c 'import flask_admin, pathlib; print(pathlib.Path(flask_admin.__file__).parent / "translations/zh_Hans_CN/LC_MESSAGES/admin.po")')"

install: $(STAMP) $(CATALOG)/messages.mo $(CATALOG)/admin.mo

## The demo: install, migrate, seed an empty database, serve on PORT (default 5000).
demo: install
	$(PY) run.py demo

## The whole suite on SQLite and on PostgreSQL at once (TEST_DATABASE_URL or 127.0.0.1:5432).
test: install
	$(PY) tests/run_suite.py $(PYTEST_ARGS)

## Not in `test`: a 10-minute mixed load on PostgreSQL under Gunicorn with the scheduler
## (SOAK_DATABASE_URL, default a database gd_soak on 127.0.0.1; SOAK_SECONDS, default 600).
soak: install
	$(PY) tests/soak/run_soak.py

## Re-extract the UI strings and compile the catalogs after editing messages.po.
translations: $(STAMP)
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o admin_app/translations/messages.pot --no-location --omit-header .
	$(VENV)/bin/pybabel update -i admin_app/translations/messages.pot -d admin_app/translations -l zh_Hans_CN --no-fuzzy-matching
	$(VENV)/bin/pybabel compile -d admin_app/translations

## The benchmark of issue 14 on the local PostgreSQL (SCALE=demo|district|city; resumable):
## builds the synthetic city in griddesk_bench_SCALE, measures, writes bench/SCALE.json.
## The HTTP load comes from wrk (Debian's package, installed here when missing and possible).
SCALE ?= district
bench: install
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; } || \
		echo "wrk is not installed: the HTTP figures use Python threads (bench/load.py)"
	$(PY) -m bench --scale $(SCALE) --json bench/$(SCALE).json $(BENCH_ARGS)

## Screenshots of the main pages in headless Chromium (needs Debian's chromium + chromium-driver).
screenshots: install
	$(PY) docs/take_screenshots.py
	$(PY) docs/matrix_screenshots.py

clean:
	rm -rf $(VENV) instance
