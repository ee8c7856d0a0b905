"""The demo's staff (the seven demo accounts among them) and who, in a story, takes each step."""
from __future__ import annotations

import random

from demo.city import FUNCTIONAL, OTHER, PROPERTY, City
from demo.texts import GIVEN_CHARS, SURNAMES
from models.areas.hierarchy import Area
from models.base import db
from models.people.accounts import check_user_setup
from models.people.department import Department
from models.people.user import User
from models.tickets.tables import Ticket
from models.vocabulary import AreaLevel, DepartmentKind, Role

DEMO_PASSWORD = "demo12345"  # the README and run.py print it too


def person_name(rng: random.Random) -> str:
    """A Chinese name: a surname and one or two given characters."""
    given = rng.choice((1, 2, 2))
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN_CHARS) for _ in range(given))


def mobile_phone(rng: random.Random) -> str:
    # 13x and 18x only: every such number is an assigned mobile range (154, 174, 179 are not).
    return "1" + rng.choice("3838") + "".join(rng.choice("0123456789") for _ in range(9))


class _Staffing:
    def __init__(self, city: City) -> None:
        self.city = city
        self.names_used: set[str] = set()
        self.shared_hash: str | None = None

    def name(self) -> str:
        """A staff member's name, unique in the demo."""
        while True:
            name = person_name(self.city.rng)
            if name not in self.names_used:
                self.names_used.add(name)
                return name

    def user(self, username: str, role: Role, *, scope: Area | None = None,
             department: Department | None = None, own_hash: bool = False) -> User:
        user = User(username=username, display_name=self.name(), phone=mobile_phone(self.city.rng),
                    role=role, scope_area=scope, department=department)
        if own_hash or self.shared_hash is None:
            # The seven demo accounts get their own salted hash; the rest of the staff share one
            # hash of the same password (scrypt costs ~0.15 s each, 60 would dominate seeding).
            user.set_password(DEMO_PASSWORD)
            if not own_hash:
                self.shared_hash = user.password_hash
        else:
            user.password_hash = self.shared_hash
        check_user_setup(user)
        db.session.add(user)
        self.city.users.append(user)
        if department is not None and role != Role.GRID_WORKER:
            self.city.members.setdefault(department.id, []).append(user)
        return user


def seed_people(city: City) -> None:
    staff = _Staffing(city)
    district = city.district
    staff.user("admin", Role.ADMIN, own_hash=True)
    city.district_staff += [
        staff.user("district", Role.DISTRICT_CENTRE, scope=district, department=city.centre_of[0],
                   own_hash=True),
        staff.user("dc_02", Role.DISTRICT_CENTRE, scope=district, department=city.centre_of[0])]
    staff.user("leader", Role.LEADER, scope=district, own_hash=True)
    for s, street in enumerate(city.streets):
        first = s == 0
        city.street_staff[street.id] = [
            staff.user("street" if first else f"sc_{street.code}", Role.STREET_CENTRE, scope=street,
                       department=city.centre_of[s + 1], own_hash=first)]
    for c, community in enumerate(city.communities):
        city.community_staff[community.id] = [
            staff.user("community" if (c == 0 and k == 1) else f"cs_{community.code}_{k}",
                       Role.COMMUNITY_STAFF, scope=community, department=city.office_of[c],
                       own_hash=(c == 0 and k == 1))
            for k in (1, 2)]
    for g, grid in enumerate(city.grids):
        city.grid_worker[grid.area.id] = staff.user(
            "gridworker" if g == 0 else f"gw_{grid.area.code}", Role.GRID_WORKER,
            scope=grid.area, department=city.office_of[grid.community_index], own_hash=g == 0)
    specs = [(key, count) for key, _name, count in FUNCTIONAL]
    specs += [(key, count) for key, _name, _area, count in PROPERTY] + [(OTHER[0], OTHER[2])]
    for key, count in specs:
        department = city.departments[key]
        for n in range(1, count + 1):
            demo_account = key == "hw" and n == 1
            staff.user("handler" if demo_account else f"{key}_{n:02d}", Role.HANDLER,
                       scope=department.area, department=department, own_hash=demo_account)
    db.session.flush()


# ---- who takes a step ----------------------------------------------------------------------
def taker(city: City, ticket: Ticket) -> User:
    """Who accepts the ticket where it stands: its assignee, else a member of its department's
    queue (the first handler of a department takes most)."""
    if ticket.assigned_user_id is not None:
        return db.session.get(User, ticket.assigned_user_id)
    staff = city.members[ticket.assigned_department_id]
    return city.rng.choices(staff, weights=[2] + [1] * (len(staff) - 1))[0]


def manager(city: City, ticket: Ticket, share_community: float = 0.6) -> User:
    """Community staff of the ticket's community, or its street command centre."""
    pool = city.community_staff[ticket.community_id] if city.rng.random() < share_community \
        else city.street_staff[ticket.street_id]
    return city.rng.choice(pool)


def centre_staff(city: City, ticket: Ticket) -> User:
    """Someone of the command centre or community office the ticket waits at."""
    return city.rng.choice(city.members[ticket.assigned_department_id])


def reviewer(city: City, ticket: Ticket, submitter: User) -> User:
    """Who approves or rejects a result: the level above the one who did the work, never them."""
    rng = city.rng
    street = city.street_staff[ticket.street_id]
    department = db.session.get(Department, ticket.assigned_department_id) \
        if ticket.assigned_department_id else None
    if submitter.role == Role.GRID_WORKER:
        pool = city.community_staff[ticket.community_id]
    elif department is None or department.kind == DepartmentKind.COMMUNITY_OFFICE:
        pool = street
    elif department.area.level == AreaLevel.COMMUNITY:
        pool = city.community_staff[ticket.community_id]
    elif department.area.level == AreaLevel.STREET:
        pool = street
    else:
        pool = city.district_staff if rng.random() < 0.6 else street
    pool = [u for u in pool if u is not submitter] or \
        [u for u in city.district_staff if u is not submitter]
    return rng.choice(pool)
