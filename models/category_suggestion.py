"""Category suggestion: the three most likely categories for a description, learned offline from
this office's own closed tickets (their category as it stood at closing, i.e. after corrections).

The model (models/naive_bayes.py) is trained nightly by the scheduler and by
``python run.py train-category-model``; its counts are one row of ``category_models`` together
with its accuracy on a held-out month. With too little history (fewer closed tickets than
``CATEGORY_SUGGEST_MIN_TICKETS`` or fewer than two categories) it suggests nothing and says so.
No text leaves the server.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, defer, mapped_column

from models import naive_bayes
from models.base import UTCDateTime, db, utcnow
from models.categories import Category, publicly_listed_category_ids
from models.clock import local_zone
from models.settings import setting
from models.tickets.tables import Ticket
from models.vocabulary import TicketStatus

SUGGESTIONS = 3
NIGHTLY_HOUR = 2  # local time of the nightly training


class CategoryModel(db.Model):
    """The trained suggestion model (one row, replaced by each training)."""

    __tablename__ = "category_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    trained_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ticket_count: Mapped[int] = mapped_column(default=0)
    category_count: Mapped[int] = mapped_column(default=0)
    enough_history: Mapped[bool] = mapped_column(default=False)
    # Accuracy on the held-out month (None when there was too little history for it).
    held_out_month: Mapped[str | None] = mapped_column(sa.String(7))
    held_out_count: Mapped[int] = mapped_column(default=0)
    accuracy_top1: Mapped[float | None] = mapped_column(sa.Float)
    accuracy_top3: Mapped[float | None] = mapped_column(sa.Float)
    counts: Mapped[dict] = mapped_column(sa.JSON)


@dataclass
class Suggestion:
    category: Category
    score: float
    words: list[str] = field(default_factory=list)


def min_tickets() -> int:
    return setting("CATEGORY_SUGGEST_MIN_TICKETS", 200)


def _history(before: datetime | None = None, since: datetime | None = None) -> list[tuple[str, int]]:
    """(text, final category id) of the closed tickets reported in [since, before)."""
    query = sa.select(Ticket.title, Ticket.description, Ticket.category_id).where(
        Ticket.status == TicketStatus.CLOSED)
    if before is not None:
        query = query.where(Ticket.created_at < before)
    if since is not None:
        query = query.where(Ticket.created_at >= since)
    rows = db.session.execute(query.execution_options(yield_per=2000))
    return [(f"{title or ''} {description or ''}", category_id)
            for title, description, category_id in rows]


def _enough(documents: list[tuple[str, int]]) -> bool:
    return len(documents) >= min_tickets() and len({c for _t, c in documents}) >= 2


def _month_start(moment: datetime) -> datetime:
    local = moment.astimezone(local_zone())
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def held_out_accuracy(now: datetime) -> dict:
    """Trained on the months before the last complete month, tested on that month."""
    end = _month_start(now)
    start = _month_start(end - timedelta(days=1))
    result = {"held_out_month": start.strftime("%Y-%m"), "held_out_count": 0,
              "accuracy_top1": None, "accuracy_top3": None}
    training, test = _history(before=start), _history(before=end, since=start)
    if not _enough(training) or not test:
        return result
    model = naive_bayes.train(training)
    top1 = top3 = 0
    for text, category_id in test:
        labels = [label for label, _s, _w in naive_bayes.rank(model, text, SUGGESTIONS)]
        top1 += labels[:1] == [str(category_id)]
        top3 += str(category_id) in labels
    return {**result, "held_out_count": len(test), "accuracy_top1": top1 / len(test),
            "accuracy_top3": top3 / len(test)}


def train_category_model(now: datetime | None = None) -> CategoryModel:
    """Learn from every closed ticket, measure on the held-out month, store (replacing the old)."""
    now = now or utcnow()
    documents = _history()
    enough = _enough(documents)
    row = CategoryModel(trained_at=now, ticket_count=len(documents),
                        category_count=len({c for _t, c in documents}), enough_history=enough,
                        counts=naive_bayes.train(documents) if enough else {},
                        **held_out_accuracy(now))
    db.session.execute(sa.delete(CategoryModel))
    db.session.add(row)
    db.session.flush()
    _cache.clear()
    return row


def current_model() -> CategoryModel | None:
    """The newest model's row, without its counts (read on first use, see ``_counts``)."""
    return db.session.execute(sa.select(CategoryModel).options(defer(CategoryModel.counts))
                              .order_by(CategoryModel.id.desc()).limit(1)).scalar_one_or_none()


def training_due(now: datetime | None = None) -> bool:
    """Nightly: due when the newest model is older than today's training hour (local) or missing."""
    now = now or utcnow()
    local = now.astimezone(local_zone())
    last_slot = local.replace(hour=NIGHTLY_HOUR, minute=0, second=0, microsecond=0)
    if local < last_slot:
        last_slot -= timedelta(days=1)
    trained = db.session.execute(sa.select(sa.func.max(CategoryModel.trained_at))).scalar()
    return trained is None or trained < last_slot


_cache: dict[tuple, dict] = {}  # (row id, trained_at) → counts: one read per process and model


def _counts(row: CategoryModel) -> dict:
    """The row's counts, read from the database (the deferred column) only when this process
    has not read this model yet."""
    key = (row.id, row.trained_at)
    if key not in _cache:
        _cache.clear()
        _cache[key] = row.counts
    return _cache[key]


def suggest_categories(text: str, *, public: bool = False) -> tuple[bool, list[Suggestion]]:
    """(enough history?, up to three suggestions, best first). ``public``: only categories
    listed publicly (the resident page)."""
    row = current_model()
    if row is None or not row.enough_history:
        return False, []
    counts = _counts(row)
    ranked = naive_bayes.rank(counts, text or "", limit=len(counts["classes"]))
    query = sa.select(Category).where(Category.id.in_([int(label) for label, _s, _w in ranked]),
                                      Category.active.is_(True))
    if public:
        query = query.where(Category.id.in_(publicly_listed_category_ids()))
    categories = {c.id: c for c in db.session.execute(query).scalars()}
    found = [Suggestion(categories[int(label)], round(score, 3), drivers)
             for label, score, drivers in ranked if int(label) in categories]
    # The best is always offered; a runner-up the model gives under 1 % is noise, not a choice.
    return True, [s for i, s in enumerate(found[:SUGGESTIONS]) if i == 0 or s.score >= 0.01]
