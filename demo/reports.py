"""A planned case reported through intake, as its channel would: a resident's or a patrolling
grid worker's words, a point inside the grid, the reporter's contact; intake places and
dispatches it."""
from __future__ import annotations

import random
import zlib

from shapely.geometry import Point, Polygon

from demo.city import City
from demo.people import mobile_phone, person_name
from demo.plans import Plan
from demo.texts import (ASKS, CHRONIC_SPOT, CHRONIC_TEXTS, GATES, MORE_TEXTS, PLACES, SHOPS,
                        SOURCE_PREFIX, SURNAMES, TEXTS)
from models.tickets.intake import Report, report_ticket
from models.tickets.tables import Ticket
from models.vocabulary import Source


def report(city: City, plan: Plan, plans: list[Plan], earlier: list[Ticket]) -> Ticket:
    """Report the plan's case at its moment; a duplicate repeats an earlier report nearby."""
    rng = city.rng
    original = earlier[plan.merge_of] if plan.merge_of is not None else None
    near = None
    if original is not None:
        plan.text = plans[plan.merge_of].text
        near = (original.lon, original.lat)
    else:
        plan.text = _texts(city, plan)
    title, seen, address = plan.text
    description = (rng.choice(SOURCE_PREFIX[plan.source]) + seen
                   + (rng.choice(ASKS) if plan.source != Source.PATROL else "已拍照留存。"))
    lon, lat = _point_in(rng, plan.grid.polygon, near)
    patrol = plan.source == Source.PATROL
    result = report_ticket(
        Report(category_id=plan.category.id, title=title, description=description, lat=lat,
               lon=lon, address=address, priority=plan.priority, source=plan.source,
               **_reporter(city, plan)),
        actor=city.grid_worker[plan.grid.area.id] if patrol else None, now=plan.created)
    return result.ticket


def _texts(city: City, plan: Plan) -> tuple[str, str, str]:
    """Title, the reported problem (without the channel's preamble) and the address."""
    rng = city.rng
    grid = plan.grid
    values = {
        "road": grid.road if rng.random() < 0.7 else rng.choice(grid.roads),
        "estate": grid.estate if rng.random() < 0.7 else rng.choice(grid.estates),
        "no": 10 * (grid.number - 1) + rng.randint(1, 60) * 2 + rng.randint(0, 1),
        "bldg": rng.randint(1, 28), "unit": rng.randint(1, 4), "place": rng.choice(PLACES),
        "gate": rng.choice(GATES), "shop": rng.choice(SHOPS),
    }
    words = CHRONIC_TEXTS if plan.chronic else TEXTS[plan.category.code]
    which = rng.randrange(len(words["titles"]))
    title_template = words["titles"][which]
    text_template = words["texts"][min(which, len(words["texts"]) - 1)]
    if not _same_place(text_template, title_template):  # (more titles than texts)
        text_template = next((text for text in words["texts"]
                              if _same_place(text, title_template)), text_template)
    if plan.chronic:
        address = CHRONIC_SPOT
    elif "{estate}" in title_template:
        address = "{estate}{bldg}幢".format(**values)
        if "{unit}" in title_template:
            address += "{unit}单元".format(**values)
    elif "{no}" in title_template:
        address = "{road}{no}号".format(**values)
    else:
        address = "{road}{place}".format(**values)
    title = title_template.format(**values)
    more = [] if plan.chronic else [text for text in MORE_TEXTS.get(plan.category.code, [])
                                    if _same_place(text, title_template)]
    # Half the cases are told in other words; drawn apart from the city's random sequence, so
    # the rest of the demo stays as it was.
    variety = random.Random(zlib.crc32(title.encode("utf-8")))
    if more and variety.random() < 0.5:
        text_template = variety.choice(more)
    return title, text_template.format(**values), f"{grid.street.name}{address}"


PLACE_WORDS = ("{road}", "{estate}", "{place}", "{gate}", "{shop}")


def _same_place(text_template: str, title_template: str) -> bool:
    """Whether a text names no place the title does not (a title about an estate told as a
    road's problem read as two different cases)."""
    return all(word in title_template for word in PLACE_WORDS if word in text_template)


def _point_in(rng: random.Random, polygon: Polygon, near: tuple[float, float] | None = None):
    min_x, min_y, max_x, max_y = polygon.bounds
    for attempt in range(1000):
        if near is not None and attempt < 50:
            x, y = near[0] + rng.uniform(-0.0004, 0.0004), near[1] + rng.uniform(-0.0003, 0.0003)
        else:
            x, y = rng.uniform(min_x, max_x), rng.uniform(min_y, max_y)
        x, y = round(x, 6), round(y, 6)
        if polygon.contains(Point(x, y)):
            return x, y
    raise RuntimeError("no point found inside the grid")


def _reporter(city: City, plan: Plan) -> dict:
    rng = city.rng
    if plan.source == Source.PATROL:
        return {}
    if plan.chronic and rng.random() < 0.6:
        # The same few neighbours call about the market every week.
        regulars = [("胡阿姨", "13906712288"), ("陈建华", "13857105566"), ("沈女士", "15968123340")]
        name, phone = rng.choice(regulars)
        return {"reporter_name": name, "reporter_phone": phone}
    roll = rng.random()
    if roll < 0.6:
        name = person_name(rng)
    elif roll < 0.9:
        name = rng.choice(SURNAMES) + rng.choice(("先生", "女士", "阿姨", "师傅"))
    else:
        name = None  # anonymous
    result = {"reporter_name": name, "reporter_phone": mobile_phone(rng) if rng.random() < 0.95 else None}
    if plan.source == Source.WEB and rng.random() < 0.5:
        result["reporter_email"] = f"resident{rng.randint(1000, 9999)}@example.com"
    return result

