"""Liveness check for load balancers and systemd."""
import sqlalchemy as sa
from flask import Blueprint, jsonify

from models import db

bp = Blueprint("health", __name__)


@bp.route("/healthz")
def healthz():
    try:
        db.session.execute(sa.text("SELECT 1"))
    except Exception as exc:  # any driver error means "not healthy"
        db.session.rollback()
        return jsonify(status="error", database=str(exc.__class__.__name__)), 503
    return jsonify(status="ok", database="ok")
