"""A small world for tests: one district, two streets, two communities, three grids, every role."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from models import (Area, AreaLevel, Category, DeadlineUnit, Department, DepartmentKind, Priority,
                     Role, Source, Ticket, TicketStatus, User, db)
from models.areas.hierarchy import place_area, set_boundary
from models.tickets.records import open_ticket
from models.tickets.timeline import append_event

PASSWORD = "demo12345"


def square(lon: float, lat: float, width: float = 0.01, height: float = 0.01) -> dict:
    return {"type": "Polygon", "coordinates": [[
        [lon, lat], [lon + width, lat], [lon + width, lat + height], [lon, lat + height], [lon, lat]]]}


@dataclass
class World:
    areas: dict[str, Area] = field(default_factory=dict)
    departments: dict[str, Department] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    categories: dict[str, Category] = field(default_factory=dict)


def add_area(world: World, key: str, code: str, name: str, level: AreaLevel, parent: Area | None,
             boundary: dict | None = None) -> Area:
    area = Area(code=code, name=name, level=level)
    if boundary:
        set_boundary(area, boundary)
    place_area(area, parent)
    world.areas[key] = area
    return area


def add_user(world: World, username: str, role: Role, scope: Area | None = None,
             department: Department | None = None, active: bool = True) -> User:
    user = User(username=username, display_name=f"用户{username}", role=role, scope_area=scope,
                department=department, active=active)
    user.set_password(PASSWORD)
    db.session.add(user)
    world.users[username] = user
    return user


def build_world() -> World:
    w = World()
    d = add_area(w, "district", "T01", "测试区", AreaLevel.DISTRICT, None, square(120.0, 30.0, 0.04, 0.02))
    s1 = add_area(w, "street1", "T0101", "一号街道", AreaLevel.STREET, d, square(120.0, 30.0, 0.02, 0.02))
    s2 = add_area(w, "street2", "T0102", "二号街道", AreaLevel.STREET, d, square(120.02, 30.0, 0.02, 0.02))
    c1 = add_area(w, "community1", "T010101", "甲社区", AreaLevel.COMMUNITY, s1, square(120.0, 30.0, 0.02, 0.02))
    c2 = add_area(w, "community2", "T010201", "乙社区", AreaLevel.COMMUNITY, s2, square(120.02, 30.0, 0.02, 0.02))
    add_area(w, "grid1", "T01010101", "甲一网格", AreaLevel.GRID, c1, square(120.0, 30.0))
    add_area(w, "grid2", "T01010102", "甲二网格", AreaLevel.GRID, c1, square(120.01, 30.0))
    add_area(w, "grid3", "T01020101", "乙一网格", AreaLevel.GRID, c2, square(120.02, 30.0))
    for key, name, kind, area in (
        ("district_centre", "区指挥中心", DepartmentKind.COMMAND_CENTRE, d),
        ("street1_centre", "一号街道指挥中心", DepartmentKind.COMMAND_CENTRE, s1),
        ("street2_centre", "二号街道指挥中心", DepartmentKind.COMMAND_CENTRE, s2),
        ("office1", "甲社区居委会", DepartmentKind.COMMUNITY_OFFICE, c1),
        ("office2", "乙社区居委会", DepartmentKind.COMMUNITY_OFFICE, c2),
        ("sanitation", "区环卫中心", DepartmentKind.FUNCTIONAL, d),
    ):
        dept = Department(name=name, kind=kind, area=area)
        db.session.add(dept)
        w.departments[key] = dept
    add_user(w, "admin", Role.ADMIN)
    add_user(w, "district", Role.DISTRICT_CENTRE, d, w.departments["district_centre"])
    add_user(w, "street", Role.STREET_CENTRE, s1, w.departments["street1_centre"])
    add_user(w, "street2", Role.STREET_CENTRE, s2, w.departments["street2_centre"])
    add_user(w, "community", Role.COMMUNITY_STAFF, c1, w.departments["office1"])
    add_user(w, "community2", Role.COMMUNITY_STAFF, c2, w.departments["office2"])
    add_user(w, "gridworker", Role.GRID_WORKER, w.areas["grid1"])
    add_user(w, "gridworker2", Role.GRID_WORKER, w.areas["grid2"])
    add_user(w, "handler", Role.HANDLER, d, w.departments["sanitation"])
    add_user(w, "leader", Role.LEADER, d)
    top = Category(code="01", name="街面环境卫生", handle_deadline=3,
                   handle_deadline_unit=DeadlineUnit.WORKING_DAYS)
    sub = Category(code="0101", name="垃圾清运", parent=top, handle_deadline=1,
                   handle_deadline_unit=DeadlineUnit.WORKING_DAYS, requires_after_photo=True)
    db.session.add_all([top, sub])
    w.categories.update(top=top, garbage=sub)
    db.session.flush()
    return w


def make_ticket(world: World, grid_key: str, *, title: str = "垃圾桶满溢",
                assignee: User | None = None, department: Department | None = None,
                status: TicketStatus | None = None, reporter_phone: str | None = "13812345678",
                created_at: datetime | None = None, handle_deadline: datetime | None = None,
                priority: Priority = Priority.NORMAL, source: Source = Source.PHONE) -> Ticket:
    grid = world.areas[grid_key]
    ticket = open_ticket(category=world.categories["garbage"], title=title, description=title,
                         source=source, area=grid, lat=grid.centroid_lat, lon=grid.centroid_lon,
                         address="测试路1号", priority=priority, reporter_name="张三",
                         reporter_phone=reporter_phone, at=created_at)
    ticket.handle_deadline = handle_deadline
    if assignee is not None or department is not None:
        append_event(ticket, "dispatch", to_user=assignee, to_department=department, at=created_at)
    if status is not None and status != TicketStatus.PENDING:
        append_event(ticket, "accept", actor=assignee, to_status=status, at=created_at)
    db.session.flush()
    return ticket
