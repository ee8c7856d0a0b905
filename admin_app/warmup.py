"""Warming a preloaded Gunicorn master (``gunicorn.conf.py`` ``when_ready``): the process's
copies of the reference rows, the area index, the dispatch matrix and the compiled templates are
built once, before the workers fork. No worker's first requests build them (a city
administrator's first board took 2.2 s in a new process: 29,136 area rows, 32,529 users and the
templates), and the workers share those pages instead of each building its own. A copy renewed
later (a changed area, user …) is built again by the worker that needs it, as before."""
from __future__ import annotations

import gc
import time

from flask import Flask


def warm_up(app: Flask) -> float:
    """Build what every worker would build on its first requests; the seconds it took."""
    from models.areas.locate import area_index
    from models.base import db, empty_pools
    from models.reference_cache import (area_rows, category_ids_by_code, category_rows,
                                        department_rows, user_rows)
    from models.tickets.dispatch import matrix_in_memory

    started = time.perf_counter()
    with app.app_context():
        for build in (area_rows, category_rows, category_ids_by_code, department_rows, user_rows,
                      matrix_in_memory, area_index):
            build()
        db.session.remove()
        empty_pools()  # the master keeps no connection; each worker opens its own
    for name in app.jinja_env.list_templates(filter_func=lambda name: name.endswith(".html")):
        app.jinja_env.get_template(name)
    gc.freeze()  # the collector of a worker then leaves these objects (and their pages) alone
    return time.perf_counter() - started
