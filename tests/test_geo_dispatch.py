"""Where a report lands (grid lookup, coordinates) and who gets it (the responsibility matrix)."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from models import (Category, DeadlineUnit, DispatchRule, ResponsibleKind, Source, Ticket,
                    TicketEvent, db)
from models.areas.coordinates import (bd09_to_gcj02, gcj02_to_bd09, gcj02_to_wgs84, to_wgs84,
                                      wgs84_to_gcj02)
from models.areas.locate import invalidate_area_index, locate
from models.errors import ActionInvalid
from models.tickets.intake import Report, report_ticket

from .factories import build_world
from .test_api import auth, token_for


@pytest.fixture()
def world(ctx):
    invalidate_area_index()
    w = build_world()
    db.session.commit()
    return w


def report(world, lon, lat, category="garbage", **kw):
    return report_ticket(Report(category_id=world.categories[category].id, description="垃圾满溢",
                                lon=lon, lat=lat, source=Source.PHONE, **kw)).ticket


# --- coordinates -----------------------------------------------------------------------------
def test_gcj02_against_published_reference_points():
    # Reference pairs published with widely used converters (GeometryUtils README; coordtransform
    # test suites): WGS-84 (116.348120, 39.980945) is GCJ-02 (116.354308, 39.982296).
    lon, lat = wgs84_to_gcj02(116.348120, 39.980945)
    assert (round(lon, 6), round(lat, 6)) == (116.354308, 39.982297)
    lon, lat = gcj02_to_wgs84(116.354308, 39.982296)
    assert abs(lon - 116.348120) < 2e-6 and abs(lat - 39.980945) < 2e-6
    lon, lat = wgs84_to_gcj02(116.404, 39.915)
    assert abs(lon - 116.41024449916938) < 1e-9 and abs(lat - 39.91640428150164) < 1e-9


def test_bd09_against_published_reference_points():
    lon, lat = bd09_to_gcj02(116.404, 39.915)
    assert abs(lon - 116.39762729119315) < 1e-9 and abs(lat - 39.90865673957631) < 1e-9
    lon, lat = gcj02_to_bd09(116.404, 39.915)
    assert abs(lon - 116.41036949371029) < 1e-9 and abs(lat - 39.92133699351021) < 1e-9


def test_bd09_input_lands_where_the_wgs84_point_is(world):
    grid = world.areas["grid2"]
    gcj = wgs84_to_gcj02(grid.centroid_lon, grid.centroid_lat)
    bd = gcj02_to_bd09(*gcj)
    back = to_wgs84(*bd, "bd09")
    assert abs(back[0] - grid.centroid_lon) < 1e-5 and abs(back[1] - grid.centroid_lat) < 1e-5
    assert locate(bd[0], bd[1], "bd09").area_id == grid.id
    assert locate(*gcj, "gcj02").area_id == grid.id


# --- grid lookup -------------------------------------------------------------------------------
def test_a_point_lands_in_its_grid(world):
    placement = locate(120.015, 30.005)
    assert placement.area_id == world.areas["grid2"].id and not placement.flagged


def test_a_point_on_a_shared_border_goes_to_one_grid_every_time(world):
    results = {locate(120.01, 30.005).area_id for _ in range(5)}
    assert results == {world.areas["grid1"].id}  # the smaller grid code wins the border


def test_a_point_in_no_grid_goes_to_the_nearest_community_office_and_is_flagged(world):
    ticket = report(world, 120.005, 30.015)  # inside community 1, above its grids
    db.session.flush()
    assert ticket.location_flagged and ticket.grid_id is None
    assert ticket.community_id == world.areas["community1"].id
    assert ticket.assigned_department_id == world.departments["office1"].id
    near = locate(120.045, 30.01)  # ~0.5 km east of every community: the nearest takes it
    assert near.flagged and near.area_id == world.areas["community2"].id


def test_a_point_far_outside_every_community_is_refused_in_words(world, client):
    """35 km off (another city's case): refused, nothing written — by the API, the resident
    page and the lookup alike; the limit is GRIDDESK_OUTSIDE_AREA_LIMIT_M (5 km)."""
    with pytest.raises(ActionInvalid, match="该位置在本系统服务范围之外 3[0-9].[0-9] 公里"):
        locate(120.2, 30.3)
    before = db.session.execute(sa.select(sa.func.count()).select_from(Ticket)).scalar()
    token = token_for(client, "community")
    response = client.post("/api/v1/tickets", headers=auth(token), json={
        "category": world.categories["garbage"].code, "description": "别的城市的坑",
        "lon": 120.2, "lat": 30.3})
    assert response.status_code == 422
    assert "最多允许 5 公里" in response.get_json()["error"]["message"]
    lookup = client.get("/api/v1/areas/lookup?lon=120.2&lat=30.3", headers=auth(token))
    assert lookup.status_code == 422
    assert db.session.execute(sa.select(sa.func.count()).select_from(Ticket)).scalar() == before


@pytest.mark.parametrize("lon, lat", [(0.0, 0.0), (-74.0, 40.7), (30.0, 120.0)])
def test_points_outside_china_are_refused(world, lon, lat):
    with pytest.raises(ActionInvalid):
        locate(lon, lat)


def test_a_new_grid_boundary_is_used_at_once(world):
    from models.areas.hierarchy import set_boundary

    from .factories import square

    grid = world.areas["grid1"]
    set_boundary(grid, square(120.0, 30.0, 0.01, 0.02))  # now also covers the upper half
    db.session.commit()
    assert locate(120.005, 30.015).area_id == grid.id


# --- the responsibility matrix -----------------------------------------------------------------
def add_rule(world, category, area, kind, department=None, order=100, active=True, **kw):
    rule = DispatchRule(category=world.categories[category], area=world.areas[area],
                        responsible_kind=kind, sort_order=order, active=active,
                        department=world.departments[department] if department else None, **kw)
    db.session.add(rule)
    db.session.flush()
    return rule


def dispatch_event(ticket):
    return db.session.execute(sa.select(TicketEvent).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.action == "dispatch")).scalar_one()


def test_no_rule_sends_the_ticket_to_the_street_command_centre(world):
    ticket = report(world, 120.025, 30.005)
    assert ticket.assigned_department_id == world.departments["street2_centre"].id
    assert dispatch_event(ticket).details["rule_id"] is None


def test_the_deepest_category_wins_over_a_deeper_area(world):
    top = add_rule(world, "top", "community1", ResponsibleKind.DEPARTMENT, "sanitation")
    sub = add_rule(world, "garbage", "district", ResponsibleKind.COMMUNITY_OFFICE)
    ticket = report(world, 120.005, 30.005)
    assert dispatch_event(ticket).details["rule_id"] == sub.id != top.id
    assert ticket.assigned_department_id == world.departments["office1"].id


def test_the_deepest_area_wins_for_the_same_category(world):
    add_rule(world, "garbage", "district", ResponsibleKind.COMMUNITY_OFFICE)
    near = add_rule(world, "garbage", "community1", ResponsibleKind.DEPARTMENT, "sanitation")
    inside = report(world, 120.005, 30.005)
    outside = report(world, 120.025, 30.005)
    assert dispatch_event(inside).details["rule_id"] == near.id
    assert inside.assigned_department_id == world.departments["sanitation"].id
    assert outside.assigned_department_id == world.departments["office2"].id


def test_order_breaks_ties_and_inactive_rules_are_ignored(world):
    add_rule(world, "garbage", "district", ResponsibleKind.DEPARTMENT, "sanitation", order=20)
    first = add_rule(world, "garbage", "district", ResponsibleKind.COMMUNITY_OFFICE, order=10)
    add_rule(world, "garbage", "grid1", ResponsibleKind.DEPARTMENT, "district_centre", active=False)
    ticket = report(world, 120.005, 30.005)
    assert dispatch_event(ticket).details["rule_id"] == first.id


def test_the_grids_own_worker_takes_it_when_the_rule_says_so(world):
    add_rule(world, "garbage", "district", ResponsibleKind.GRID_WORKER)
    ticket = report(world, 120.015, 30.005)
    assert ticket.assigned_user_id == world.users["gridworker2"].id
    grid3 = report(world, 120.025, 30.005)  # no worker on grid 3: falls through to the centre
    assert grid3.assigned_user_id is None
    assert grid3.assigned_department_id == world.departments["street2_centre"].id


def test_deadlines_come_from_the_rule_and_the_priority(world):
    from datetime import timedelta

    from models import Priority

    add_rule(world, "garbage", "district", ResponsibleKind.COMMUNITY_OFFICE,
             handle_deadline=8, handle_deadline_unit=DeadlineUnit.NATURAL_HOURS)
    normal = report(world, 120.005, 30.005)
    urgent = report(world, 120.005, 30.005, priority=Priority.URGENT)
    assert normal.handle_deadline - normal.created_at == timedelta(hours=8)
    assert urgent.handle_deadline - urgent.created_at == timedelta(hours=4)


def test_duplicates_are_nearest_first_open_before_closed_and_closed_only_when_recent(world):
    from datetime import timedelta

    from models import TicketStatus, utcnow
    from models.tickets.duplicates import possible_duplicates

    now = utcnow()
    here_open = report(world, 120.005, 30.005)
    here_closed = report(world, 120.005, 30.005)
    ten_metres_open = report(world, 120.0051, 30.005)
    here_closed_long_ago = report(world, 120.005, 30.005)
    for ticket, days in ((here_closed, 2), (here_closed_long_ago, 30)):
        ticket.status, ticket.closed_at = TicketStatus.CLOSED, now - timedelta(days=days)
    db.session.commit()
    garbage = world.categories["garbage"]

    found = possible_duplicates(garbage, 120.005, 30.005, now=now)
    assert [t.id for t, _m in found] == [here_open.id, here_closed.id, ten_metres_open.id]
    assert [round(m) for _t, m in found] == [0, 0, 10]
    assert [t.id for t, _m in possible_duplicates(garbage, 120.005, 30.005, now=now, limit=2,
                                                  exclude_id=here_open.id)] \
        == [here_closed.id, ten_metres_open.id]
    assert possible_duplicates(garbage, 120.008, 30.008, now=now) == []


def test_recent_closures_are_found_across_bands_of_latitude(world):
    """The closed branch reads the category's closures by 0.01° band of latitude: a closure
    just across a band's edge, and one several bands away within a wide radius, are found."""
    from datetime import timedelta

    from models import TicketStatus, utcnow
    from models.tickets.duplicates import possible_duplicates

    now = utcnow()
    garbage = world.categories["garbage"]

    def closed_at(lat: float):
        ticket = report(world, 120.005, 30.005)
        ticket.lat, ticket.status, ticket.closed_at = lat, TicketStatus.CLOSED, now
        return ticket

    across_the_edge = closed_at(30.0102)  # band 3001; asked from band 3000, 44 m south
    three_bands_north = closed_at(30.0098 + 0.0251)  # 2.8 km
    beyond = closed_at(30.0098 + 0.0280)  # 3.1 km
    six_km_north = closed_at(30.0098 + 0.0540)
    db.session.commit()

    assert [t.id for t, _m in possible_duplicates(garbage, 120.005, 30.0098, now=now)] \
        == [across_the_edge.id]
    assert [t.id for t, _m in possible_duplicates(garbage, 120.005, 30.0106, now=now)] \
        == [across_the_edge.id]  # and from the band north of the edge
    garbage.duplicate_radius_m = 3000
    found = possible_duplicates(garbage, 120.005, 30.0098, now=now)
    assert [t.id for t, _m in found] == [across_the_edge.id, three_bands_north.id]
    garbage.duplicate_radius_m = 9000  # above what the form allows: read as the largest, 5 km
    found = possible_duplicates(garbage, 120.005, 30.0098, now=now)
    assert [t.id for t, _m in found] == [across_the_edge.id, three_bands_north.id, beyond.id]
    assert six_km_north.id not in [t.id for t, _m in found]


def test_duplicates_nearby_are_offered_at_intake(world):
    first = report(world, 120.005, 30.005)
    db.session.commit()
    second = report_ticket(Report(category_id=world.categories["garbage"].id, description="又满了",
                                  lon=120.0052, lat=30.0051, source=Source.WECHAT))
    assert [t.id for t, _m in second.duplicates] == [first.id]
    far = report_ticket(Report(category_id=world.categories["garbage"].id, description="别处",
                               lon=120.009, lat=30.009, source=Source.WECHAT))
    assert far.duplicates == []
    other = Category(code="0102", name="道路保洁", parent=world.categories["top"])
    db.session.add(other)
    db.session.flush()
    assert report_ticket(Report(category_id=other.id, description="脏", lon=120.005, lat=30.005,
                                source=Source.WEB)).duplicates == []
