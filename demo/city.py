"""The demo city: 云栖区 (fictional), its streets, communities and grids, its departments, the
categories of problems and the responsibility matrix, built through the domain's own checks."""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime

from shapely.geometry import Polygon, mapping
from shapely.geometry.polygon import orient
from shapely.ops import unary_union

from models.areas.hierarchy import Area, place_area, set_boundary
from models.areas.locate import invalidate_area_index
from models.base import db
from models.categories import Category, check_category
from models.people.department import Department
from models.people.user import User
from models.tickets.dispatch import check_dispatch_rule
from models.tickets.dispatch_rules import DispatchRule
from models.vocabulary import (AreaLevel, DeadlineUnit, DepartmentKind, HandlingLevel,
                               ResponsibleKind)

NH, WH, WD = DeadlineUnit.NATURAL_HOURS, DeadlineUnit.WORKING_HOURS, DeadlineUnit.WORKING_DAYS

# --------------------------------------------------------------------------------------------
# The map: 云栖区 (fictional, code 330199) west of Hangzhou's 西湖区, one jittered lattice of
# 8 × 4 cells. A community is a block of 4 × 2 cells (8 grids), a street two communities on top
# of each other, the district two streets side by side. Neighbouring cells share their corner
# points and edge mid-points exactly, so the grids tile every level without gaps or overlaps.
# --------------------------------------------------------------------------------------------
DISTRICT_CODE, DISTRICT_NAME = "330199", "云栖区"
LATTICE_ORIGIN = (120.10, 30.21)  # south-west corner, WGS-84
CELL_SIZE = (0.0125, 0.015)  # degrees: about 1.2 km × 1.7 km
COMMUNITY_COLS, COMMUNITY_ROWS = 4, 2
CORNER_JITTER = 0.2  # share of a cell side; below 0.25 keeps every quadrilateral convex
EDGE_BULGE = 0.08  # sideways offset of an edge's mid-point, share of the edge length

# street name, [(community name, short name, roads, residential estates)] north to south
STREETS = [
    ("之江街道", [
        ("文新社区", "文新", ["文新路", "文一西路", "丰潭路"], ["文新小区", "丰潭公寓", "文鼎苑", "金色家园"]),
        ("古荡社区", "古荡", ["古荡路", "天目山路", "古墩路"], ["古荡新村", "华星小区", "古荡湾", "嘉禾苑"]),
    ]),
    ("翠苑街道", [
        ("益乐社区", "益乐", ["益乐路", "文二西路", "教工路"], ["益乐新村", "益乐公寓", "翠苑四区", "政苑小区"]),
        ("嘉绿苑社区", "嘉绿", ["嘉绿路", "文三西路", "紫金港路"], ["嘉绿苑东区", "嘉绿苑西区", "嘉绿景苑", "绿园小区"]),
    ]),
]
CN_DIGITS = "一二三四五六七八九十"
# The grid with the chronic parking problem (the vegetable market at 益乐路): community 3, grid 3.
CHRONIC_PARKING = (2, 3)
CHRONIC_PARKING_SHARE = 0.4

# --------------------------------------------------------------------------------------------
# Departments. Functional departments sit at the district; abbreviations name their handlers.
# --------------------------------------------------------------------------------------------
FUNCTIONAL = [  # key, name, handlers
    ("cg", "云栖区城市管理局", 2),
    ("zf", "云栖区综合行政执法局", 2),
    ("zj", "云栖区住房和城乡建设局", 2),
    ("sj", "云栖区市场监督管理局", 1),
    ("hw", "云栖区环境卫生管理中心", 3),
    ("xf", "云栖区消防救援大队", 1),
]
# key, name, area (("street", s) or ("community", c)), handlers
PROPERTY = [
    ("wxwy", "杭州文新物业管理有限公司", ("community", 0), 1),
    ("cywy", "杭州翠苑物业服务有限公司", ("street", 1), 2),
    ("jlwy", "嘉绿苑物业服务中心", ("community", 3), 1),
]
OTHER = ("sw", "云栖水务有限公司", 1)

# --------------------------------------------------------------------------------------------
# Categories: (code, name, handling level, accept, handle, after photo, weight, where).
# ``weight`` is the share of tickets; ``where`` says whether the address is a road ("road") or
# a residential estate ("estate"). Parents carry the defaults of their class.
# --------------------------------------------------------------------------------------------
CATEGORY_TREE = [
    (("01", "街面环境卫生", HandlingLevel.DISTRICT, (2, WH), (1, WD)), [
        ("0101", "垃圾清运", HandlingLevel.DISTRICT, (2, NH), (24, NH), True, 24),
        ("0102", "道路保洁", HandlingLevel.DISTRICT, (2, WH), (1, WD), False, 6),
        ("0103", "乱堆乱放", HandlingLevel.DISTRICT, (4, WH), (3, WD), True, 7),
        ("0104", "垃圾分类不规范", HandlingLevel.COMMUNITY, (1, WD), (3, WD), False, 3),
    ]),
    (("02", "小区物业管理", HandlingLevel.COMMUNITY, (4, WH), (3, WD)), [
        ("0201", "乱停车", HandlingLevel.COMMUNITY, (2, WH), (1, WD), False, 6),
        ("0202", "下水道堵塞", HandlingLevel.COMMUNITY, (1, NH), (24, NH), True, 2),
        ("0203", "电梯故障", HandlingLevel.COMMUNITY, (1, NH), (24, NH), False, 3),
        ("0204", "楼道堆物", HandlingLevel.COMMUNITY, (4, WH), (3, WD), False, 4),
    ]),
    (("03", "居民矛盾纠纷", HandlingLevel.COMMUNITY, (1, WD), (5, WD)), [
        ("0301", "邻里纠纷", HandlingLevel.COMMUNITY, (1, WD), (5, WD), False, 4),
        ("0302", "噪音扰民", HandlingLevel.COMMUNITY, (2, WH), (2, WD), False, 5),
    ]),
    (("04", "房屋安全隐患", HandlingLevel.DISTRICT, (4, WH), (5, WD)), [
        ("0401", "墙体开裂", HandlingLevel.DISTRICT, (4, WH), (5, WD), True, 2),
        ("0402", "高空坠物隐患", HandlingLevel.DISTRICT, (1, NH), (24, NH), True, 2),
    ]),
    (("05", "市政设施", HandlingLevel.DISTRICT, (4, WH), (3, WD)), [
        ("0501", "路灯损坏", HandlingLevel.DISTRICT, (4, WH), (3, WD), True, 4),
        ("0502", "井盖缺失", HandlingLevel.DISTRICT, (1, NH), (12, NH), True, 2),
        ("0503", "道路破损", HandlingLevel.DISTRICT, (4, WH), (5, WD), True, 3),
        ("0504", "供水管网漏水", HandlingLevel.DISTRICT, (1, NH), (24, NH), False, 2),
    ]),
    (("06", "园林绿化", HandlingLevel.STREET, (1, WD), (5, WD)), [
        ("0601", "树木倒伏", HandlingLevel.STREET, (1, NH), (24, NH), True, 1),
        ("0602", "绿地毁损", HandlingLevel.STREET, (1, WD), (5, WD), False, 2),
    ]),
    (("07", "违法建设", HandlingLevel.DISTRICT, (1, WD), (15, WD)), [
        ("0701", "违章搭建", HandlingLevel.DISTRICT, (1, WD), (15, WD), True, 3),
        ("0702", "破墙开店", HandlingLevel.DISTRICT, (1, WD), (10, WD), True, 1),
    ]),
    (("08", "消防安全", HandlingLevel.DISTRICT, (2, WH), (2, WD)), [
        ("0801", "消防通道堵塞", HandlingLevel.DISTRICT, (1, NH), (24, NH), True, 3),
        ("0802", "电动车违规充电", HandlingLevel.COMMUNITY, (2, WH), (2, WD), False, 3),
    ]),
    (("09", "街面秩序", HandlingLevel.DISTRICT, (4, WH), (2, WD)), [
        ("0901", "占道经营", HandlingLevel.DISTRICT, (4, WH), (2, WD), False, 5),
        ("0902", "流动摊贩", HandlingLevel.DISTRICT, (4, WH), (1, WD), False, 3),
    ]),
    (("10", "其他事项", HandlingLevel.STREET, (1, WD), (5, WD)), [
        ("1001", "其他", HandlingLevel.STREET, (1, WD), (5, WD), False, 2),
    ]),
]

# Month factors on the base weight: the plum-rain season (梅雨, June–July) and summer storms


# Custom fields of 垃圾清运, answered through the API and Open311 (optional, so staff entry and
# the walkthrough need none).
GARBAGE_FIELDS = [
    {"code": "bins", "label": "满溢桶数", "type": "number", "hint": "整数，如 3"},
    {"code": "kind", "label": "垃圾类型", "type": "singlevaluelist",
     "values": [{"key": "household", "name": "生活垃圾"}, {"key": "construction", "name": "建筑垃圾"},
                {"key": "bulky", "name": "大件垃圾"}]},
]

# Responsibility matrix: (category code, area, kind, department key, handle override, note).
# Area: "district", ("street", index) or ("community", index). 园林绿化 and 其他事项 have no rule
# on purpose: they fall to the street command centre, which assigns them by hand.
RULES = [
    ("01", "district", ResponsibleKind.DEPARTMENT, "hw", None, "街面环境卫生由区环卫中心负责"),
    ("0101", "district", ResponsibleKind.DEPARTMENT, "hw", None, "垃圾清运24小时内完成"),
    ("0103", "district", ResponsibleKind.DEPARTMENT, "cg", None, "乱堆乱放由城管处置"),
    ("0104", "district", ResponsibleKind.COMMUNITY_OFFICE, None, None, "垃圾分类由社区督导"),
    ("02", "district", ResponsibleKind.COMMUNITY_OFFICE, None, None, "小区事务先由社区协调物业"),
    ("0201", "district", ResponsibleKind.COMMUNITY_OFFICE, None, None, None),
    ("0202", "district", ResponsibleKind.COMMUNITY_OFFICE, None, None, None),
    ("0202", ("street", 1), ResponsibleKind.DEPARTMENT, "cywy", (12, NH),
     "翠苑街道老旧小区由托管物业负责疏通，合同约定12小时"),
    ("0201", ("community", 3), ResponsibleKind.DEPARTMENT, "jlwy", None, "嘉绿苑小区内停车由物业管理"),
    ("0203", "district", ResponsibleKind.DEPARTMENT, "sj", None, "电梯属特种设备，由市场监管局督办"),
    ("0203", ("community", 0), ResponsibleKind.DEPARTMENT, "wxwy", (8, NH), "文新社区电梯由物业联系维保单位"),
    ("03", "district", ResponsibleKind.GRID_WORKER, None, None, "矛盾纠纷由网格员先行调解"),
    ("04", "district", ResponsibleKind.DEPARTMENT, "zj", None, None),
    ("05", "district", ResponsibleKind.DEPARTMENT, "cg", None, None),
    ("0504", "district", ResponsibleKind.DEPARTMENT, "sw", None, "供水管网由水务公司抢修"),
    ("0503", "district", ResponsibleKind.DEPARTMENT, "cg", None, "道路破损由城管巡查处置"),
    ("07", "district", ResponsibleKind.DEPARTMENT, "zf", None, None),
    ("08", "district", ResponsibleKind.DEPARTMENT, "xf", None, None),
    ("0802", "district", ResponsibleKind.COMMUNITY_OFFICE, None, None, "电动车充电由社区上门劝导"),
    ("09", "district", ResponsibleKind.DEPARTMENT, "zf", None, None),
]
GAP_TARGET = {"06": "cg", "10": "community"}  # who the command centre hands a gap ticket to


@dataclass
class Grid:
    area: Area
    polygon: Polygon
    community: Area
    street: Area
    community_index: int
    number: int
    road: str
    estate: str
    roads: list[str]
    estates: list[str]


@dataclass
class City:
    """What is seeded so far, for the steps that follow; one seeded ``rng`` draws every choice."""

    rng: random.Random
    now: datetime
    district: Area | None = None
    streets: list[Area] = field(default_factory=list)
    communities: list[Area] = field(default_factory=list)
    grids: list[Grid] = field(default_factory=list)
    departments: dict[str, Department] = field(default_factory=dict)
    centre_of: dict[int, Department] = field(default_factory=dict)  # 0 district, 1… streets
    office_of: dict[int, Department] = field(default_factory=dict)  # community index → office
    users: list[User] = field(default_factory=list)
    district_staff: list[User] = field(default_factory=list)
    street_staff: dict[int, list[User]] = field(default_factory=dict)  # street id → staff
    community_staff: dict[int, list[User]] = field(default_factory=dict)  # community id → staff
    grid_worker: dict[int, User] = field(default_factory=dict)  # grid id → worker
    members: dict[int, list[User]] = field(default_factory=dict)  # department id → its queue's takers
    categories: dict[str, Category] = field(default_factory=dict)
    rules: list[DispatchRule] = field(default_factory=list)
    # How many cases of each misrouted category (demo/lives.py MISROUTED) reached the wrong
    # department so far: every few of them are passed on, in turn.
    misrouted_seen: dict[str, int] = field(default_factory=dict)


def seed_city(city: City) -> None:
    _seed_areas(city)
    _seed_departments(city)


def seed_matrix(city: City) -> None:
    _seed_categories(city)
    _seed_rules(city)


# A matrix cell with a co-handling department (主办/协办): set after the year of history, so it
# speaks for the cases reported from now on (the history's cases were dispatched without it).
CO_HANDLING_RULE = ("0901", "cg", ("sj",),
                    "占道经营由城管主办，涉及食品经营的由市场监管协办（吹哨报到）")


def seed_co_handling_rule(city: City) -> DispatchRule:
    code, key, co_keys, note = CO_HANDLING_RULE
    rule = DispatchRule(category=city.categories[code], area=city.district,
                        responsible_kind=ResponsibleKind.DEPARTMENT,
                        department=city.departments[key], sort_order=100, note=note,
                        co_department_ids=[city.departments[k].id for k in co_keys])
    check_dispatch_rule(rule)
    db.session.add(rule)
    city.rules.append(rule)
    db.session.flush()
    return rule


# ---- areas ---------------------------------------------------------------------------------
def _lattice(rng: random.Random, cols: int, rows: int):
    """Jittered lattice points, and one sideways-offset mid-point per lattice edge, shared."""
    (lon0, lat0), (dx, dy) = LATTICE_ORIGIN, CELL_SIZE
    points = {}
    for i in range(cols + 1):
        for j in range(rows + 1):
            points[i, j] = (round(lon0 + (i + rng.uniform(-CORNER_JITTER, CORNER_JITTER)) * dx, 6),
                            round(lat0 + (j + rng.uniform(-CORNER_JITTER, CORNER_JITTER)) * dy, 6))
    mids = {}

    def mid(a, b):
        key = (min(a, b), max(a, b))
        if key not in mids:
            (x1, y1), (x2, y2) = points[key[0]], points[key[1]]
            bulge = rng.uniform(-EDGE_BULGE, EDGE_BULGE)
            mids[key] = (round((x1 + x2) / 2 - (y2 - y1) * bulge, 6),
                         round((y1 + y2) / 2 + (x2 - x1) * bulge, 6))
        return mids[key]

    def cell(i: int, j: int) -> Polygon:
        a, b, c, d = (i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1)  # counter-clockwise
        ring = [points[a], mid(a, b), points[b], mid(b, c), points[c], mid(c, d), points[d], mid(d, a)]
        polygon = Polygon(ring)
        if not polygon.is_valid:
            raise RuntimeError(f"demo lattice cell {i},{j} is not a valid polygon")
        return polygon

    return cell


def _union(polygons: list[Polygon]) -> Polygon:
    merged = unary_union(polygons)
    if merged.geom_type != "Polygon" or len(merged.interiors):
        raise RuntimeError("demo areas do not join into one polygon")
    return orient(merged, 1.0)


def _new_area(code: str, name: str, level: AreaLevel, parent: Area | None, polygon: Polygon) -> Area:
    area = Area(code=code, name=name, level=level)
    set_boundary(area, mapping(orient(polygon, 1.0)))
    place_area(area, parent)
    return area


def _seed_areas(city: City) -> None:
    street_cols = COMMUNITY_COLS
    communities_per_street = max(len(c) for _, c in STREETS)
    cols, rows = street_cols * len(STREETS), COMMUNITY_ROWS * communities_per_street
    cell = _lattice(city.rng, cols, rows)
    cells = {(i, j): cell(i, j) for i in range(cols) for j in range(rows)}

    def community_cells(s: int, k: int) -> list[tuple[int, int]]:
        """Grid order inside a community: rows north to south, columns west to east."""
        top = rows - 1 - k * COMMUNITY_ROWS
        return [(s * street_cols + c, top - r) for r in range(COMMUNITY_ROWS) for c in range(street_cols)]

    city.district = _new_area(DISTRICT_CODE, DISTRICT_NAME, AreaLevel.DISTRICT, None,
                              _union(list(cells.values())))
    community_index = 0
    for s, (street_name, communities) in enumerate(STREETS):
        street_cells = [cells[key] for k in range(len(communities)) for key in community_cells(s, k)]
        street = _new_area(f"{DISTRICT_CODE}{s + 1:03d}", street_name, AreaLevel.STREET,
                           city.district, _union(street_cells))
        city.streets.append(street)
        for k, (name, short, roads, estates) in enumerate(communities):
            keys = community_cells(s, k)
            community = _new_area(f"{street.code}{k + 1:03d}", name, AreaLevel.COMMUNITY, street,
                                  _union([cells[key] for key in keys]))
            city.communities.append(community)
            for n, key in enumerate(keys, start=1):
                grid = _new_area(f"{community.code}{n:03d}", f"{short}第{CN_DIGITS[n - 1]}网格",
                                 AreaLevel.GRID, community, cells[key])
                city.grids.append(Grid(
                    area=grid, polygon=cells[key], community=community, street=street,
                    community_index=community_index, number=n, road=roads[(n - 1) % len(roads)],
                    estate=estates[(n - 1) % len(estates)], roads=roads, estates=estates))
            community_index += 1
    invalidate_area_index()  # intake places reports with the grid index: build it anew


# ---- departments ---------------------------------------------------------------------------
def _office_phone(rng: random.Random) -> str:
    return "0571-8" + "".join(rng.choice("0123456789") for _ in range(7))


def _department(city: City, key: str, name: str, kind: DepartmentKind, area: Area) -> Department:
    department = Department(name=name, kind=kind, area=area, phone=_office_phone(city.rng))
    db.session.add(department)
    city.departments[key] = department
    return department


def _seed_departments(city: City) -> None:
    district = city.district
    city.centre_of[0] = _department(city, "centre", f"{district.name}网格化服务管理指挥中心",
                                    DepartmentKind.COMMAND_CENTRE, district)
    for s, street in enumerate(city.streets):
        city.centre_of[s + 1] = _department(city, f"centre{s + 1}", f"{street.name}网格化服务管理指挥中心",
                                            DepartmentKind.COMMAND_CENTRE, street)
    for c, community in enumerate(city.communities):
        city.office_of[c] = _department(city, f"office{c}", f"{community.name}居民委员会",
                                        DepartmentKind.COMMUNITY_OFFICE, community)
    for key, name, _count in FUNCTIONAL:
        _department(city, key, name, DepartmentKind.FUNCTIONAL, district)
    for key, name, (level, index), _count in PROPERTY:
        area = city.streets[index] if level == "street" else city.communities[index]
        _department(city, key, name, DepartmentKind.PROPERTY_COMPANY, area)
    key, name, _count = OTHER
    _department(city, key, name, DepartmentKind.OTHER, district)
    db.session.flush()


# ---- categories and the responsibility matrix ----------------------------------------------
def _seed_categories(city: City) -> None:
    order = 0
    for (code, name, level, accept, handle), children in CATEGORY_TREE:
        order += 10
        parent = Category(code=code, name=name, handling_level=level, accept_deadline=accept[0],
                          accept_deadline_unit=accept[1], handle_deadline=handle[0],
                          handle_deadline_unit=handle[1], sort_order=order)
        db.session.add(parent)
        city.categories[code] = parent
        for sub_order, (sub_code, sub_name, sub_level, sub_accept, sub_handle, photo, _w) in \
                enumerate(children, start=1):
            child = Category(code=sub_code, name=sub_name, parent=parent, handling_level=sub_level,
                             accept_deadline=sub_accept[0], accept_deadline_unit=sub_accept[1],
                             handle_deadline=sub_handle[0], handle_deadline_unit=sub_handle[1],
                             requires_after_photo=photo, sort_order=sub_order * 10)
            db.session.add(child)
            city.categories[sub_code] = child
    city.categories["03"].listed_publicly = False  # disputes stay off Open311's public list
    city.categories["0101"].custom_fields = GARBAGE_FIELDS
    for category in city.categories.values():
        check_category(category)
    db.session.flush()


def _seed_rules(city: City) -> None:
    for order, (code, where, kind, key, handle, note) in enumerate(RULES, start=1):
        if where == "district":
            area = city.district
        else:
            level, index = where
            area = city.streets[index] if level == "street" else city.communities[index]
        rule = DispatchRule(category=city.categories[code], area=area, responsible_kind=kind,
                            department=city.departments[key] if key else None,
                            handle_deadline=handle[0] if handle else None,
                            handle_deadline_unit=handle[1] if handle else None,
                            sort_order=100, note=note)
        check_dispatch_rule(rule)
        db.session.add(rule)
        city.rules.append(rule)
    db.session.flush()
