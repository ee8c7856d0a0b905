"""One phone-number cleaner (models/people/phones.py) for every channel: the staff form, the JSON
API, Open311 and the Excel ledger store a caller's number the same way, and refuse the same
numbers with the same Chinese message."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from integrations.ledger.importer import ValueProblem, parse_phone
from models import Ticket, db
from models.people.phones import PhoneError, clean_phone, mask_phone, phones_in_text
from models.people.tokens import create_api_client

from .test_api import auth, token_for

NOT_DIGITS = "电话号码只能包含数字。"
NOT_A_NUMBER = "不是可以回拨的电话号码"

CLEANED = [
    ("13812345678", "13812345678"),
    ("138-1234-5678", "13812345678"),
    ("+86 138 1234 5678", "13812345678"),        # was kept as +8613812345678
    ("0086 138 1234 5678", "13812345678"),
    ("8613812345678", "13812345678"),            # was kept as 8613812345678
    ("１３９００００１１１１", "13900001111"),        # full-width digits
    (13900001111.0, "13900001111"),              # a spreadsheet's number cell
    ("0571-87654321", "057187654321"),
    ("(0571)87654321", "057187654321"),
    ("+86 571 8765 4321", "057187654321"),
    ("010-12345678", "01012345678"),
    ("87654321", "87654321"),                    # a local landline, as callers give it
    ("400-123-4567", "4001234567"),
    ("12345", "12345"),                          # the citizens' hotline
    ("110", "110"),
    ("95598", "95598"),
    ("+852 9123 4567", "+85291234567"),          # abroad: E.164
    ("  ", None),
    (None, None),
]
REFUSED = [
    ("abc", NOT_DIGITS),
    ("138 1234 567a", NOT_DIGITS),
    ("1381234567", NOT_A_NUMBER),                # a mobile with a digit missing (was accepted)
    ("138123456789", NOT_A_NUMBER),              # one too many (was accepted)
    ("15412345678", NOT_A_NUMBER),               # an unassigned mobile range (was accepted)
    ("+86 12345", NOT_A_NUMBER),
    ("12345678901234567890", NOT_A_NUMBER),
]


@pytest.mark.parametrize("value, cleaned", CLEANED)
def test_numbers_are_stored_as_a_chinese_caller_dials_them(ctx, value, cleaned):
    assert clean_phone(value) == cleaned


@pytest.mark.parametrize("value, message", REFUSED)
def test_what_is_not_a_number_is_refused_in_chinese(ctx, value, message):
    with pytest.raises(PhoneError) as refused:
        clean_phone(value)
    assert message in str(refused.value)


def test_numbers_inside_a_text_and_the_mask(ctx):
    assert phones_in_text("13900001111 / 0571-87654321 转 8001") == ["13900001111",
                                                                     "057187654321"]
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("057187654321") == "057*****4321"


def stored_phones() -> list[str | None]:
    db.session.expire_all()
    return db.session.execute(sa.select(Ticket.reporter_phone).order_by(Ticket.id)).scalars().all()


def test_the_quick_check_of_mobiles_agrees_with_phonenumbers_on_every_prefix():
    """Chinese mobiles skip phonenumbers' parsing (models/people/phones.py CHINESE_MOBILE): for
    every 11-digit number with each 3- and 4-digit prefix the answer is the library's own,
    accepted or refused."""
    import random

    from models.people import phones

    rng = random.Random(7)
    numbers = [f"{prefix}{rng.randrange(10 ** 8):08d}" for prefix in range(100, 200)]
    numbers += [f"{prefix}{rng.randrange(10 ** 7):07d}" for prefix in range(1000, 2000)]
    numbers += [f"{prefix}{suffix}" for prefix in ("1740", "1741", "1745", "1746", "1610")
                for suffix in ("0000000", "5999999", "9999999")]
    accepted = 0
    for number in numbers:
        assert phones._canonical(number) == phones._canonical_by_phonenumbers(number), number
        accepted += phones._canonical(number) is not None
    assert 0 < accepted < len(numbers)  # both kinds were compared


def test_the_api_cleans_and_refuses_with_the_same_rule(world, client):
    token = token_for(client, "community")
    body = {"category": "0101", "description": "垃圾桶满溢", "lat": 30.006, "lon": 120.004}
    made = client.post("/api/v1/tickets", json={**body, "reporter_phone": "+86 139 0000 1111"},
                       headers=auth(token))
    assert made.status_code == 201, made.get_json()
    refused = client.post("/api/v1/tickets", json={**body, "reporter_phone": "1390000111"},
                          headers=auth(token))
    assert refused.status_code == 422
    assert NOT_A_NUMBER in refused.get_json()["error"]["message"]
    assert stored_phones() == ["13900001111"]


def test_open311_cleans_and_refuses_with_the_same_rule(world, client):
    _client, key = create_api_client("城市APP")
    db.session.commit()
    fields = {"api_key": key, "service_code": "0101", "lat": "30.005", "long": "120.005",
              "description": "垃圾桶满溢"}
    assert client.post("/open311/v2/requests.json",
                       data={**fields, "phone": "(0571) 8765-4321"}).status_code == 200
    refused = client.post("/open311/v2/requests.json", data={**fields, "phone": "1390000111"})
    assert refused.status_code == 400
    assert NOT_A_NUMBER in refused.get_json()[0]["description"]
    assert stored_phones() == ["057187654321"]


def test_the_ledger_cleans_with_the_same_rule(ctx):
    assert parse_phone("+86 139-0000-1111") == ("13900001111", False)
    assert parse_phone("12345") == ("12345", False)
    assert parse_phone("张三 13900001111，备用 0571-87654321") == ("13900001111", True)
    with pytest.raises(ValueProblem) as refused:
        parse_phone("1390000111")
    assert str(refused.value) == "“1390000111”不是电话号码。"
