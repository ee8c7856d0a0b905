"""Human ticket numbers (GD + local date + daily sequence) and resident tracking codes."""
from __future__ import annotations

import secrets
from datetime import date

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from models.base import db
from models.settings import setting
from models.tickets.tables import TicketNumberCounter

# No 0/O, 1/I/L: codes are read out over the phone.
TRACKING_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
TRACKING_CODE_LENGTH = 10


def next_ticket_number(day: date) -> str:
    """Atomically take the next sequence number of ``day`` (safe across concurrent workers).

    On PostgreSQL the number is taken in its own short transaction, so the day's counter row is
    not locked while the rest of the intake runs (every intake of the day needs that row). The
    price: an intake that fails afterwards leaves a gap in the day's numbers. SQLite has a
    single writer anyway and takes the number inside the intake's transaction."""
    bind = db.session.get_bind()
    insert = pg_insert if bind.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(TicketNumberCounter).values(day=day, last_value=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=[TicketNumberCounter.day],
        set_={"last_value": TicketNumberCounter.last_value + 1},
    ).returning(TicketNumberCounter.last_value)
    if bind.dialect.name == "postgresql":
        with bind.connect() as connection:
            value = connection.execute(stmt).scalar_one()
            connection.commit()
    else:
        value = db.session.execute(stmt).scalar_one()
    digits = setting("TICKET_NUMBER_DIGITS", 4)
    return f"GD{day:%Y%m%d}{value:0{digits}d}"


def new_tracking_code() -> str:
    return "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(TRACKING_CODE_LENGTH))
