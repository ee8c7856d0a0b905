"""Staff accounts. Passwords are stored as salted hashes only."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from models.areas.hierarchy import Area
from models.base import UTCDateTime, db, str_enum, utcnow
from models.people.department import Department
from models.settings import setting
from models.vocabulary import Role

MIN_PASSWORD_LENGTH = 8


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(64))
    phone: Mapped[str | None] = mapped_column(sa.String(32))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[Role] = mapped_column(str_enum(Role), index=True)
    scope_area_id: Mapped[int | None] = mapped_column(sa.ForeignKey("areas.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("departments.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_logins: Mapped[int] = mapped_column(default=0)
    # Stored in each signed-in session; raising it ends them all (models/people/sessions.py).
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    scope_area: Mapped[Area | None] = relationship()
    department: Mapped[Department | None] = relationship()

    def __str__(self) -> str:
        return f"{self.display_name}（{self.username}）"

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return bool(self.active)

    def set_password(self, password: str) -> None:
        if len(password or "") < MIN_PASSWORD_LENGTH:
            raise ValueError(f"password shorter than {MIN_PASSWORD_LENGTH} characters")
        method = setting("PASSWORD_HASH_METHOD", "scrypt")
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


_stand_in_hashes: dict[str, str] = {}


def check_password_of_nobody(password: str) -> bool:
    """The work of a password check, for a username that does not exist: answering it faster
    would tell which usernames do. Always False."""
    method = setting("PASSWORD_HASH_METHOD", "scrypt")
    if method not in _stand_in_hashes:
        _stand_in_hashes[method] = generate_password_hash("no such user", method=method)
    check_password_hash(_stand_in_hashes[method], password)
    return False
