"""WSGI entry for production servers: `gunicorn -c gunicorn.conf.py wsgi:app`.

Web workers never run the scheduler; run exactly one `python run.py scheduler` beside them.
"""
from admin_app import create_app

app = create_app()
