"""Flask extensions, created once at import and bound to an app in create_app."""
from flask_babel import Babel
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from models.base import db

login_manager = LoginManager()
babel = Babel()
csrf = CSRFProtect()

__all__ = ["babel", "csrf", "db", "login_manager"]
