"""The area hierarchy: the admin form refuses bad parents and bad boundaries, the import is all or nothing."""
from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa

from models import Area, AreaLevel, db

from .conftest import csrf_token
from .factories import build_world, make_ticket, square

NEW_URL = "/admin/area/new/"
GOOD_BOUNDARY = square(120.0, 30.02, 0.02, 0.01)  # 120.00–120.02 E, 30.02–30.03 N
BOWTIE = {"type": "Polygon", "coordinates": [[
    [120.0, 30.0], [120.02, 30.02], [120.02, 30.0], [120.0, 30.01], [120.0, 30.0]]]}
SYMMETRIC_BOWTIE = {"type": "Polygon", "coordinates": [[
    [120.0, 30.0], [120.01, 30.01], [120.01, 30.0], [120.0, 30.01], [120.0, 30.0]]]}
LINESTRING = {"type": "LineString", "coordinates": [[120.0, 30.0], [120.01, 30.01]]}
SWAPPED = square(30.0, 120.0)  # latitude first: 120° N does not exist, let alone in China

GRID_UNDER_STREET = "网格必须隶属于社区。"
OUTSIDE_CHINA = "坐标不在中国境内；请按 WGS-84 坐标系先填经度、后填纬度。"
NOT_POLYGON = "边界必须是 Polygon 或 MultiPolygon，而不是 LineString。"
NOT_JSON = "边界不是有效的 JSON（第 1 行第 "  # line and column, not the parser's English
INVALID_GEOMETRY = "几何图形无效："
HAS_SUB_AREAS = "该区域下仍有下级区域。"
HAS_TICKETS = "该区域已有关联工单，不能删除。"


@pytest.fixture()
def world(ctx):
    w = build_world()
    db.session.commit()
    return w


def area_count() -> int:
    db.session.expire_all()
    return db.session.execute(sa.select(sa.func.count()).select_from(Area)).scalar_one()


def area_by_code(code: str) -> Area | None:
    db.session.expire_all()
    return db.session.execute(sa.select(Area).where(Area.code == code)).scalar_one_or_none()


def alerts(html: str) -> list[str]:
    """The flashed messages and field errors shown on a page, as plain text."""
    found = re.findall(r'class="alert[^"]*"[^>]*>(.*?)</div>', html, re.S)
    found += re.findall(r'class="(?:invalid-feedback|help-block)[^"]*"[^>]*>(.*?)</', html, re.S)
    return [re.sub(r"<[^>]+>|&times;", "", text).strip() for text in found]


def post_area(client, url: str = NEW_URL, **fields):
    data = {"csrf_token": csrf_token(client, url), **fields}
    if isinstance(data.get("boundary_text"), dict):
        data["boundary_text"] = json.dumps(data["boundary_text"])
    return client.post(url, data=data)


# --- the admin form ----------------------------------------------------------------------

def test_a_grid_under_a_street_is_refused_with_a_clear_message(world, login_as):
    client = login_as("admin")
    before = area_count()
    response = post_area(client, code="T01019901", name="错挂网格", level="grid",
                         parent=str(world.areas["street1"].id), boundary_text=GOOD_BOUNDARY)
    assert response.status_code == 200  # the form comes back
    assert GRID_UNDER_STREET in " ".join(alerts(response.get_data(as_text=True)))
    assert area_count() == before
    assert area_by_code("T01019901") is None


def test_a_street_under_the_district_is_created_with_its_path(world, login_as):
    client = login_as("admin")
    district = world.areas["district"]
    response = post_area(client, code="T0103", name="三号街道", level="street",
                         parent=str(district.id))
    assert response.status_code == 302
    street = area_by_code("T0103")
    assert street is not None and street.level == AreaLevel.STREET
    assert street.parent_id == district.id
    assert street.path == f"{district.path}{street.id}/"
    assert street.is_within(district)
    assert street.boundary is None and street.centroid_lon is None


def test_a_district_with_a_parent_is_refused(world, login_as):
    client = login_as("admin")
    before = area_count()
    response = post_area(client, code="T09", name="第二个区", level="district",
                         parent=str(world.areas["district"].id))
    assert "区不能设置上级区域。" in " ".join(alerts(response.get_data(as_text=True)))
    assert area_count() == before


def test_a_good_polygon_is_stored_with_its_centroid(world, login_as):
    client = login_as("admin")
    community = world.areas["community1"]
    response = post_area(client, code="T01010103", name="甲三网格", level="grid",
                         parent=str(community.id), boundary_text=GOOD_BOUNDARY)
    assert response.status_code == 302
    grid = area_by_code("T01010103")
    assert grid.boundary["type"] == "Polygon"
    ring = [tuple(point) for point in grid.boundary["coordinates"][0]]
    assert ring[0] == ring[-1] and (120.0, 30.02) in ring and (120.02, 30.03) in ring
    assert grid.centroid_lon == pytest.approx(120.01)
    assert grid.centroid_lat == pytest.approx(30.025)
    assert grid.path == f"{community.path}{grid.id}/"
    assert grid.is_within(world.areas["street1"]) and grid.is_within(world.areas["district"])
    assert not grid.is_within(world.areas["street2"])
    # The details page shows the stored boundary.
    details = client.get(f"/admin/area/details/?id={grid.id}").get_data(as_text=True)
    assert "Polygon" in details and "120.01" in details


def test_a_grid_without_a_boundary_is_refused(world, login_as):
    client = login_as("admin")
    before = area_count()
    response = post_area(client, code="T01010104", name="无边界网格", level="grid",
                         parent=str(world.areas["community1"].id))
    assert "网格必须设置边界多边形。" in " ".join(alerts(response.get_data(as_text=True)))
    assert area_count() == before


BAD_BOUNDARIES = {
    "bowtie": (BOWTIE, INVALID_GEOMETRY + "Self-intersection"),
    "linestring": (LINESTRING, NOT_POLYGON),
    "not json": ('{"type": "Polygon", "coordinates": [[[120, 30], [120.01, 30]', NOT_JSON),
    "lat/lon swapped": (SWAPPED, OUTSIDE_CHINA),
}


@pytest.mark.parametrize("case", sorted(BAD_BOUNDARIES))
def test_a_bad_boundary_on_a_new_area_is_refused_and_nothing_is_created(world, login_as, case):
    boundary, message = BAD_BOUNDARIES[case]
    client = login_as("admin")
    before = area_count()
    response = post_area(client, code="T01010199", name="坏边界网格", level="grid",
                         parent=str(world.areas["community1"].id), boundary_text=boundary)
    assert response.status_code == 200
    assert message in " ".join(alerts(response.get_data(as_text=True)))
    assert area_count() == before
    assert area_by_code("T01010199") is None


@pytest.mark.parametrize("case", sorted(BAD_BOUNDARIES))
def test_a_bad_boundary_on_an_edit_keeps_the_old_one(world, login_as, case):
    boundary, message = BAD_BOUNDARIES[case]
    grid = world.areas["grid1"]
    old_boundary, old_centroid = grid.boundary, (grid.centroid_lon, grid.centroid_lat)
    client = login_as("admin")
    url = f"/admin/area/edit/?id={grid.id}"
    # A new code as well: an unchanged code trips the "already exists" bug tested below.
    response = post_area(client, url, code="T01010109", name="改名也不应保存", level="grid",
                         parent=str(grid.parent_id), boundary_text=boundary)
    assert response.status_code == 200
    assert message in " ".join(alerts(response.get_data(as_text=True)))
    assert area_by_code("T01010109") is None
    after = area_by_code(grid.code)
    assert after.boundary == old_boundary
    assert (after.centroid_lon, after.centroid_lat) == old_centroid
    assert after.name == "甲一网格"


def test_a_symmetric_bowtie_is_reported_as_self_intersecting(world, login_as):
    client = login_as("admin")
    before = area_count()
    response = post_area(client, code="T01010198", name="蝴蝶结网格", level="grid",
                         parent=str(world.areas["community1"].id), boundary_text=SYMMETRIC_BOWTIE)
    assert area_count() == before  # refused in any case
    assert INVALID_GEOMETRY in " ".join(alerts(response.get_data(as_text=True)))


def test_a_good_boundary_on_an_edit_replaces_the_old_one(world, login_as):
    grid = world.areas["grid1"]
    client = login_as("admin")
    url = f"/admin/area/edit/?id={grid.id}"
    response = post_area(client, url, code="T01010109", name="甲一网格", level="grid",
                         parent=str(grid.parent_id), boundary_text=square(120.0, 30.0, 0.004, 0.002))
    assert response.status_code == 302
    after = area_by_code("T01010109")
    assert after.id == grid.id and after.path == grid.path
    assert after.centroid_lon == pytest.approx(120.002)
    assert after.centroid_lat == pytest.approx(30.001)


def test_editing_an_area_without_changing_its_code_is_saved(world, login_as):
    grid = world.areas["grid1"]
    client = login_as("admin")
    url = f"/admin/area/edit/?id={grid.id}"
    response = post_area(client, url, code=grid.code, name="甲一网格（改）", level="grid",
                         parent=str(grid.parent_id), boundary_text=grid.boundary)
    assert "已经存在" not in response.get_data(as_text=True)
    assert response.status_code == 302
    assert area_by_code(grid.code).name == "甲一网格（改）"


def test_changing_the_level_of_an_area_with_sub_areas_is_refused(world, login_as):
    community = world.areas["community1"]
    client = login_as("admin")
    url = f"/admin/area/edit/?id={community.id}"
    response = post_area(client, url, code="T0199", name=community.name, level="street",
                         parent=str(world.areas["district"].id))
    assert response.status_code == 200  # the form comes back with a message
    assert area_by_code("T0199") is None
    after = area_by_code(community.code)
    assert after.level == AreaLevel.COMMUNITY
    assert after.parent_id == world.areas["street1"].id


def test_deleting_an_area_with_sub_areas_is_refused_with_a_message(world, login_as):
    street = world.areas["street1"]
    client = login_as("admin")
    before = area_count()
    response = client.post("/admin/area/delete/", data={
        "id": str(street.id), "url": "/admin/area/", "csrf_token": csrf_token(client, "/admin/area/")})
    assert response.status_code == 302
    page = client.get("/admin/area/").get_data(as_text=True)
    assert HAS_SUB_AREAS in " ".join(alerts(page))
    assert area_count() == before and area_by_code(street.code) is not None


def test_deleting_a_grid_with_tickets_is_refused_and_an_unused_grid_goes(world, login_as):
    make_ticket(world, "grid3")
    db.session.commit()
    client = login_as("admin")
    token = csrf_token(client, "/admin/area/")
    grid3 = world.areas["grid3"]
    client.post("/admin/area/delete/", data={"id": str(grid3.id), "url": "/admin/area/",
                                             "csrf_token": token})
    assert HAS_TICKETS in " ".join(alerts(client.get("/admin/area/").get_data(as_text=True)))
    assert area_by_code(grid3.code) is not None
    # A fresh grid nobody refers to can be deleted.
    post_area(client, code="T01020102", name="乙二网格", level="grid",
              parent=str(world.areas["community2"].id), boundary_text=square(120.03, 30.0))
    spare = area_by_code("T01020102")
    before = area_count()
    client.post("/admin/area/delete/", data={"id": str(spare.id), "url": "/admin/area/",
                                             "csrf_token": token})
    assert area_count() == before - 1 and area_by_code("T01020102") is None


def listed_codes(html: str) -> set[str]:
    return set(re.findall(r'class="col-code">\s*([^<\s]+)', html))


def test_the_area_list_filters_by_level(world, login_as):
    client = login_as("admin")
    page = client.get("/admin/area/").get_data(as_text=True)
    groups = json.loads(re.search(r'<div id="filter-groups-data"[^>]*>(.*?)</div>', page, re.S)
                        .group(1).replace("&#34;", '"').replace("&quot;", '"'))
    level_index = groups["层级"][0]["index"]
    assert listed_codes(page) == {a.code for a in world.areas.values()}
    expected = {
        "district": {"T01"},
        "street": {"T0101", "T0102"},
        "community": {"T010101", "T010201"},
        "grid": {"T01010101", "T01010102", "T01020101"},
    }
    for level, codes in expected.items():
        html = client.get(f"/admin/area/?flt0_{level_index}={level}").get_data(as_text=True)
        assert listed_codes(html) == codes, level


def test_the_area_list_filters_by_parent(world, login_as):
    client = login_as("admin")
    page = client.get("/admin/area/").get_data(as_text=True)
    groups = json.loads(re.search(r'<div id="filter-groups-data"[^>]*>(.*?)</div>', page, re.S)
                        .group(1).replace("&#34;", '"').replace("&quot;", '"'))
    parent_index = groups["上级区域"][0]["index"]
    community = world.areas["community1"]
    html = client.get(f"/admin/area/?flt0_{parent_index}={community.id}").get_data(as_text=True)
    assert listed_codes(html) == {"T01010101", "T01010102"}


# --- the import-areas command --------------------------------------------------------------

def feature(code, name, level, parent_code="", geometry=None) -> dict:
    return {"type": "Feature", "geometry": geometry,
            "properties": {"code": code, "name": name, "level": level, "parent_code": parent_code}}


def write_collection(tmp_path, features, name="areas.geojson"):
    path = tmp_path / name
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features},
                               ensure_ascii=False), encoding="utf-8")
    return str(path)


def import_areas(app, path):
    db.session.commit()  # the command shares the app context; leave no open transaction
    result = app.test_cli_runner().invoke(args=["import-areas", path])
    db.session.expire_all()
    return result


def good_features(suffix=""):
    return [
        # Children before parents on purpose: the import sorts by level.
        feature("T02010101", "丙一网格" + suffix, "grid", "T020101", square(120.1, 30.1)),
        feature("T020101", "丙社区" + suffix, "community", "T0201", square(120.1, 30.1, 0.02, 0.02)),
        feature("T0201", "丙街道" + suffix, "street", "T02"),
        feature("T02", "第二区" + suffix, "district", "", square(120.1, 30.1, 0.05, 0.05)),
        feature("T0103", "三号街道" + suffix, "street", "T01"),  # parent already in the database
        feature("T01010103", "甲三网格" + suffix, "grid", "T010101", square(120.0, 30.01)),
    ]


def test_import_areas_creates_the_hierarchy_and_reimport_updates(world, app, tmp_path):
    before = area_count()
    result = import_areas(app, write_collection(tmp_path, good_features()))
    assert result.exit_code == 0, result.output
    assert "6 created, 0 updated" in result.output
    assert area_count() == before + 6

    district, street, community, grid = (area_by_code(c) for c in ("T02", "T0201", "T020101", "T02010101"))
    assert district.parent_id is None and district.path == f"/{district.id}/"
    assert street.parent_id == district.id and community.parent_id == street.id
    assert grid.parent_id == community.id
    assert grid.path == f"/{district.id}/{street.id}/{community.id}/{grid.id}/"
    assert grid.is_within(district) and grid.is_within(street) and not grid.is_within(world.areas["district"])
    assert grid.level == AreaLevel.GRID and grid.centroid_lon == pytest.approx(120.105)
    third = area_by_code("T0103")
    old_district = area_by_code("T01")
    assert third.parent_id == old_district.id and third.is_within(old_district)
    extra_grid = area_by_code("T01010103")
    assert extra_grid.path == area_by_code("T010101").path + f"{extra_grid.id}/"

    # The same file again, with new names: updated in place, no duplicates.
    result = import_areas(app, write_collection(tmp_path, good_features("（新）"), "again.geojson"))
    assert result.exit_code == 0, result.output
    assert "0 created, 6 updated" in result.output
    assert area_count() == before + 6
    assert area_by_code("T020101").name == "丙社区（新）"
    assert area_by_code("T02010101").path == grid.path


def test_import_areas_with_bad_features_writes_nothing_and_lists_every_problem(world, app, tmp_path):
    features = good_features() + [
        feature("T0301", "无上级街道", "street", "T99"),                       # unknown parent
        feature("T01019902", "挂在街道下的网格", "grid", "T0101", square(120.0, 30.0)),  # wrong level
        feature("T01010106", "没有边界的网格", "grid", "T010101"),              # grid without geometry
        feature("T0201", "重复的街道", "street", "T02"),                         # duplicate code
    ]
    before = area_count()
    old_names = {a.code: a.name for a in db.session.execute(sa.select(Area)).scalars()}
    result = import_areas(app, write_collection(tmp_path, features))
    assert result.exit_code == 1
    output = result.output
    assert "Nothing was imported" in output
    problems = [line for line in output.splitlines() if line.strip().startswith("- ")]
    assert len(problems) == 4, output
    assert re.search(r"T0301\).*T99 is neither in the file nor in the database", output)
    assert re.search(r"T01019902\).*a grid must sit under a community, but T0101 is a street", output)
    assert re.search(r"T01010106\).*a grid needs a boundary polygon", output)
    assert re.search(r"T0201\).*code appears twice", output)
    assert area_count() == before
    for code in ("T02", "T0201", "T0103", "T01010103"):
        assert area_by_code(code) is None
    assert {a.code: a.name for a in db.session.execute(sa.select(Area)).scalars()} == old_names


def test_import_areas_refuses_a_file_that_is_not_geojson(world, app, tmp_path):
    before = area_count()
    path = tmp_path / "broken.geojson"
    path.write_text('{"type": "FeatureCollection", "features": [', encoding="utf-8")
    result = import_areas(app, str(path))
    assert result.exit_code == 1 and "is not GeoJSON" in result.output
    path.write_text(json.dumps({"type": "Polygon", "coordinates": []}), encoding="utf-8")
    result = import_areas(app, str(path))
    assert result.exit_code == 1 and "must be a GeoJSON FeatureCollection" in result.output
    assert area_count() == before



def test_import_areas_lists_an_invalid_geometry_among_other_problems(world, app, tmp_path):
    features = good_features() + [
        feature("T0301", "无上级街道", "street", "T99"),
        feature("T01010105", "蝴蝶结网格", "grid", "T010101", BOWTIE),
        feature("T01010107", "颠倒坐标网格", "grid", "T010101", SWAPPED),
    ]
    before = area_count()
    result = import_areas(app, write_collection(tmp_path, features))
    assert result.exit_code == 1
    assert area_count() == before
    assert re.search(r"T0301\).*T99 is neither", result.output)
    assert re.search(r"T01010105\).*Self-intersection", result.output)
    assert re.search(r"T01010107\).*(outside China|中国境内)", result.output)


def test_filters_offer_areas_in_tree_order_by_code_whatever_their_ids(world, login_as):
    """Grids created after others (ids 10 and up) still come in their code order under their
    community: the paths' ids compared as text put /…/10/ before /…/9/."""
    from .factories import add_area

    community = world.areas["community1"]
    for n in range(3, 12):  # 甲三 … 甲十一, created in the order 11, 10, … 3
        number = 14 - n
        add_area(world, f"extra{number}", f"T010101{number:02d}", f"甲{number}号网格",
                 AreaLevel.GRID, community, square(120.0 + number * 0.001, 30.1, 0.001, 0.001))
        db.session.flush()
    db.session.commit()
    html = login_as("admin").get("/admin/board/").get_data(as_text=True)
    shown = re.findall(r">　*(甲[^<]*网格)</option>", html)
    assert shown == ["甲一网格", "甲二网格"] + [f"甲{n}号网格" for n in range(3, 12)], shown
