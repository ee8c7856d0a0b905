"""Category suggestion learned from the office's own closed tickets (issue 12, point 4)."""
from __future__ import annotations

import random
from datetime import timedelta

import pytest

from models import Category, Source, Ticket, TicketStatus, db, utcnow
from models.category_suggestion import (current_model, suggest_categories, train_category_model,
                                        training_due)
from models.tickets.records import open_ticket

from .conftest import statements_sent
from .factories import PASSWORD

# Known word → category patterns: each category has its own words; all share the fillers.
PATTERNS = {
    "0201": ("垃圾桶", "满溢", "清运", "垃圾房", "臭味", "苍蝇"),
    "0202": ("乱停", "车辆", "堵塞", "停车", "占道", "挪车"),
    "0203": ("楼道", "堆物", "纸箱", "杂物", "旧家具", "通道"),
    "0204": ("噪音", "施工", "半夜", "扰民", "吵闹", "广场舞"),
    "0205": ("路灯", "不亮", "漆黑", "灯杆", "照明", "损坏"),
    "0206": ("井盖", "缺失", "下水道", "污水", "窨井", "外溢"),
}
FILLERS = ("小区", "门口", "居民", "反映", "好几天", "希望", "尽快", "处理", "附近", "晚上",
           "东门", "马路", "影响", "出行")
NAMES = {"0201": "垃圾清运", "0202": "车辆乱停", "0203": "楼道堆物", "0204": "噪音扰民",
         "0205": "路灯损坏", "0206": "井盖缺失"}


def _history(world, count: int, categories: dict[str, Category], seed: int = 7) -> None:
    """``count`` closed tickets spread over the last five months; 10 % carry a misleading word.
    Five, not four: on the last day of a month after a 31-day month, the months before the last
    complete one must still hold the model's 200 tickets (four months left ~205 ± 10 there)."""
    rng = random.Random(seed)
    grid = world.areas["grid1"]
    now = utcnow()
    codes = sorted(categories)
    for i in range(count):
        code = codes[i % len(codes)]
        words = rng.sample(PATTERNS[code], 2) + rng.sample(FILLERS, 3)
        if rng.random() < 0.1:
            words.append(rng.choice(PATTERNS[rng.choice(codes)]))
        rng.shuffle(words)
        text = "，".join(words) + "。"
        at = now - timedelta(days=rng.uniform(1, 150))
        ticket = open_ticket(category=categories[code], title=text[:20], description=text,
                             source=Source.PHONE, area=grid, at=at)
        ticket.status = TicketStatus.CLOSED
        ticket.closed_at = at + timedelta(days=1)
    db.session.flush()


def _categories(world) -> dict[str, Category]:
    top = Category(code="02", name="城市管理")
    found = {code: Category(code=code, name=name, parent=top) for code, name in NAMES.items()}
    db.session.add_all([top, *found.values()])
    db.session.flush()
    return found


@pytest.fixture()
def history(world):
    categories = _categories(world)
    _history(world, 420, categories)
    db.session.commit()
    return categories


def test_learns_the_known_patterns_and_reports_held_out_accuracy(history):
    model = train_category_model()
    db.session.commit()
    assert model.enough_history and model.ticket_count == 420 and model.category_count == 6
    # The held-out month is the last complete month; top-3 well above chance (3 of 6 = 50 %).
    assert model.held_out_count > 50
    assert model.accuracy_top3 >= 0.9
    assert model.accuracy_top1 >= 0.7
    enough, items = suggest_categories("楼道里堆满了纸箱，通道都堵了")
    assert enough and 1 <= len(items) <= 3
    assert items[0].category.code == "0203"
    assert "纸箱" in items[0].words and "楼道" in items[0].words
    # Runners-up are offered only when the model gives them a real chance (at least 1 %).
    assert all(item.score >= 0.01 for item in items[1:])
    assert [i.score for i in items] == sorted((i.score for i in items), reverse=True)


def test_a_suggestion_reads_the_model_once_per_training(history):
    """The model's counts (megabytes for a city) are read from the database once per process
    and training, not on every keystroke's request."""
    train_category_model()
    db.session.commit()
    suggest_categories("楼道里堆满了纸箱")  # the first request of this model reads its counts
    db.session.expire_all()  # a new request: a fresh session
    with statements_sent() as statements:
        enough, items = suggest_categories("楼道里堆满了纸箱")
    assert enough and items[0].category.code == "0203"
    reads = [s for s in statements if "category_models" in s]
    assert reads and not any("counts" in s for s in reads), reads


def test_too_little_history_suggests_nothing(world, app):
    categories = _categories(world)
    _history(world, 150, categories)
    db.session.commit()
    model = train_category_model()
    assert not model.enough_history and model.accuracy_top1 is None
    assert suggest_categories("楼道里堆满了纸箱") == (False, [])


def test_one_category_is_not_enough(world):
    categories = _categories(world)
    _history(world, 250, {"0203": categories["0203"]})
    model = train_category_model()
    assert model.ticket_count == 250 and not model.enough_history
    assert suggest_categories("楼道里堆满了纸箱") == (False, [])


def test_open_tickets_do_not_count(world):
    categories = _categories(world)
    _history(world, 300, categories)
    for ticket in db.session.query(Ticket).limit(150):
        ticket.status = TicketStatus.IN_PROGRESS
    assert train_category_model().ticket_count == 150


def test_nightly_job_trains_once_a_night(history):
    from jobs.sweeps import JOBS

    assert training_due()
    assert JOBS["train_category_model"]()["trained"] == 420
    assert not training_due()
    assert JOBS["train_category_model"]()["trained"] == 0
    assert training_due(utcnow() + timedelta(days=1))


def test_api_answers_with_the_agreed_names(history, login_as, client):
    train_category_model()
    db.session.commit()
    assert client.get("/api/v1/categories/suggest?text=纸箱").status_code == 401
    staff = login_as("gridworker")
    body = staff.get("/api/v1/categories/suggest", query_string={"text": "半夜施工噪音很大"}).get_json()
    assert set(body) == {"enough_history", "items"} and body["enough_history"] is True
    assert 1 <= len(body["items"]) <= 3
    first = body["items"][0]
    assert set(first) == {"code", "name", "score", "words"}
    assert (first["code"], first["name"]) == ("0204", "噪音扰民")
    assert "噪音" in first["words"] and "施工" in first["words"]
    empty = staff.get("/api/v1/categories/suggest?text=").get_json()
    assert empty == {"enough_history": True, "items": []}


def test_api_with_a_token_and_in_the_openapi_document(history, client):
    from models.people.tokens import issue_user_token

    train_category_model()
    token, _user = issue_user_token("handler", PASSWORD, address="127.0.0.1")
    db.session.commit()
    body = client.get("/api/v1/categories/suggest?text=路灯不亮",
                      headers={"Authorization": f"Bearer {token}"}).get_json()
    assert body["items"][0]["code"] == "0205"
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/categories/suggest" in spec["paths"]


def test_public_endpoint_suggests_only_publicly_listed_categories(history, client, app):
    history["0203"].listed_publicly = False
    train_category_model()
    db.session.commit()
    body = client.get("/report/suggest", query_string={"text": "楼道里堆满了纸箱"}).get_json()
    assert body["enough_history"] is True
    assert body["items"] and "0203" not in [item["code"] for item in body["items"]]
    staff_view, _ = suggest_categories("楼道里堆满了纸箱")
    assert staff_view


def test_public_endpoint_has_its_own_rate_limit(history, client, app, limits_at_one_moment):
    train_category_model()
    db.session.commit()
    app.config["PUBLIC_SUGGESTIONS_PER_IP_MINUTE"] = 3
    try:
        codes = [client.get("/report/suggest?text=路灯").status_code for _ in range(4)]
    finally:
        app.config["PUBLIC_SUGGESTIONS_PER_IP_MINUTE"] = 60
    assert codes == [200, 200, 200, 429]


def test_cli_trains_and_prints_the_accuracy(history, app):
    result = app.test_cli_runner().invoke(args=["train-category-model"])
    assert result.exit_code == 0, result.output
    assert "420 closed tickets" in result.output and "top-3" in result.output
    assert current_model().enough_history


def test_admin_page_shows_the_held_out_accuracy_to_administrators_only(history, login_as):
    train_category_model()
    db.session.commit()
    page = login_as("admin").get("/admin/category_suggestion/").get_data(as_text=True)
    model = current_model()
    assert "top-1" in page and "top-3" in page and model.held_out_month in page
    assert f"{model.accuracy_top3 * 100:.0f}%" in page and "420" in page
    assert login_as("district").get("/admin/category_suggestion/").status_code in (302, 403)


def test_admin_page_says_too_little_history(world, login_as):
    categories = _categories(world)
    _history(world, 50, categories)
    train_category_model()
    db.session.commit()
    page = login_as("admin").get("/admin/category_suggestion/").get_data(as_text=True)
    assert "历史不足" in page and "gd-top1" not in page


def test_admin_can_retrain_from_the_page(history, login_as):
    from .conftest import csrf_token

    admin = login_as("admin")
    token = csrf_token(admin, "/admin/category_suggestion/")
    assert admin.post("/admin/category_suggestion/train", data={"csrf_token": token}).status_code == 302
    assert current_model().ticket_count == 420


def test_forms_where_descriptions_are_typed_ask_for_suggestions(world, history, login_as, client):
    hotline = login_as("admin").get("/admin/ticket/new/").get_data(as_text=True)
    assert 'class="gd-suggest"' in hotline and 'data-code="0203"' in hotline
    public = client.get("/report").get_data(as_text=True)
    assert 'data-url="/report/suggest"' in public and "category_suggest.js" in public
    # The grid worker's phone patrol report: the box asks the API while the note is typed, and
    # each category button carries the code a chip taps.
    from models.patrol.rounds import start_round

    walk = start_round(world.users["gridworker"])
    db.session.commit()
    phone = login_as("gridworker").get(f"/m/patrol/{walk.id}/report").get_data(as_text=True)
    assert 'class="gd-suggest"' in phone and 'data-url="/api/v1/categories/suggest"' in phone
    assert 'data-for="#p-report-note"' in phone and "category_suggest.js" in phone
    assert 'data-code="0203"' in phone
