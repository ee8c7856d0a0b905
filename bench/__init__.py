"""GridDesk benchmark: a synthetic city on PostgreSQL and the figures of issue 14.

    .venv/bin/python -m bench --scale district --json bench/district.json

``bench.city`` builds the city (resumable, COPY), ``bench.measure`` takes the figures,
``bench.bare`` is the bare Flask + psycopg ceiling. See bench/README.md.
"""
