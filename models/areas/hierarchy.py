"""Areas: the four-level hierarchy district → street → community → grid, placing an area under
its parent, GeoJSON import."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.areas.geometry import GeometryError, geometry_to_geojson, parse_boundary
from models.base import UTCDateTime, db, str_enum, utcnow
from models.vocabulary import AREA_LEVELS, AreaLevel


class Area(db.Model):
    __tablename__ = "areas"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    level: Mapped[AreaLevel] = mapped_column(str_enum(AreaLevel), index=True)
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("areas.id"), index=True)
    # Ancestor ids and its own, e.g. "/1/4/9/": sub-area tests are prefix matches.
    path: Mapped[str] = mapped_column(sa.String(255), default="", index=True)
    # GeoJSON geometry, WGS-84. Deferred: tickets join their areas on every list, and real
    # boundaries run to thousands of points.
    # active_history: the audit trail records the boundary replaced.
    boundary: Mapped[dict | None] = mapped_column(sa.JSON, deferred=True, active_history=True)
    centroid_lon: Mapped[float | None]
    centroid_lat: Mapped[float | None]
    # An inactive area stays on the tickets and records that name it but takes nothing new.
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    parent: Mapped["Area | None"] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list["Area"]] = relationship(back_populates="parent", order_by="Area.code")

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"

    @property
    def ancestor_ids(self) -> list[int]:
        """Ids from the district down to this area itself."""
        return [int(part) for part in self.path.strip("/").split("/") if part]

    def is_within(self, other: "Area") -> bool:
        return self.path.startswith(other.path)


class AreaError(ValueError):
    """An area that does not fit the hierarchy."""


def check_parent(level: AreaLevel, parent: Area | None) -> None:
    expected = level.parent_level
    if expected is None:
        if parent is not None:
            raise AreaError(_("A district has no parent area."))
        return
    if parent is None or parent.level != expected:
        raise AreaError(_("A %(level)s must sit under a %(parent)s.",
                          level=level.label, parent=expected.label))


def set_boundary(area: Area, geojson: dict | None) -> None:
    """Validate and store a boundary; the centroid follows it."""
    if geojson is None:
        area.boundary = area.centroid_lat = area.centroid_lon = None
        return
    geometry = parse_boundary(geojson)
    area.boundary = geometry_to_geojson(geometry)
    area.updated_at = utcnow()
    centre = geometry.representative_point() if not geometry.centroid.within(geometry) \
        else geometry.centroid
    area.centroid_lon, area.centroid_lat = round(centre.x, 7), round(centre.y, 7)


def place_area(area: Area, parent: Area | None) -> None:
    """Put an area under its parent (checked) and keep the materialized paths of it and below."""
    check_parent(area.level, parent)
    check_activation(area, parent)
    if area.id is not None:
        if parent is not None and parent.is_within(area):
            raise AreaError(_("An area cannot sit under its own sub-area."))
        _check_level_change(area)
    old_path = area.path
    area.parent = parent
    if area.id is None:
        db.session.add(area)
        db.session.flush()
    area.path = (parent.path if parent is not None else "/") + f"{area.id}/"
    if old_path and old_path != area.path:
        db.session.execute(
            sa.update(Area)
            .where(Area.path.startswith(old_path), Area.id != area.id)
            .values(path=sa.func.replace(Area.path, old_path, area.path))
            .execution_options(synchronize_session="fetch"))
        _move_tickets(area)


def check_activation(area: Area, parent: Area | None) -> None:
    """An active area sits under an active parent; an area is deactivated after its sub-areas."""
    if area.active is not False and parent is not None and not parent.active:
        raise AreaError(_("The parent area %(name)s is inactive.", name=parent.name))
    if area.active is False and area.id is not None and db.session.execute(
            sa.select(Area.id).where(Area.parent_id == area.id, Area.active.is_(True))
            .limit(1)).first():
        raise AreaError(_("Deactivate its sub-areas first."))


def _check_level_change(area: Area) -> None:
    """The level of an area that already has sub-areas or tickets is fixed."""
    history = sa.inspect(area).attrs.level.history
    if not history.deleted or history.deleted[0] == area.level:
        return
    from models.tickets.tables import Ticket

    old_level = history.deleted[0]
    has_children = db.session.execute(
        sa.select(Area.id).where(Area.parent_id == area.id).limit(1)).first()
    column = getattr(Ticket, LEVEL_COLUMN[AreaLevel(old_level)])
    has_tickets = db.session.execute(
        sa.select(Ticket.id).where(column == area.id).limit(1)).first()
    if has_children or has_tickets:
        raise AreaError(_("An area with sub-areas or tickets cannot change its level."))


def _move_tickets(area: Area) -> None:
    """Tickets inside a moved area follow it: their upper area levels are rewritten."""
    from models.tickets.tables import Ticket

    levels = lineage(area)
    upper = {LEVEL_COLUMN[level]: levels[level].id for level in AREA_LEVELS[:area.level.depth]
             if level in levels}
    if upper:
        db.session.execute(
            sa.update(Ticket).where(getattr(Ticket, LEVEL_COLUMN[area.level]) == area.id)
            .values(**upper).execution_options(synchronize_session=False))
        _refold_statistics(sa.select(Ticket.id).where(
            getattr(Ticket, LEVEL_COLUMN[area.level]) == area.id))


def _refold_statistics(ticket_ids: sa.Select) -> None:
    """The moved tickets' statistics follow them: mark them for folding again."""
    from models.stats.tables import StatsPending

    db.session.execute(sa.insert(StatsPending).from_select(["ticket_id"], ticket_ids))


def area_in_use(area: Area) -> str | None:
    """Why an area may not be deleted, or None when nothing refers to it."""
    from models.people.api_clients import ApiClient
    from models.people.department import Department
    from models.people.user import User
    from models.tickets.dispatch_rules import DispatchRule
    from models.tickets.tables import Ticket

    if db.session.execute(sa.select(Area.id).where(Area.parent_id == area.id).limit(1)).first():
        return _("This area still has sub-areas.")
    column = getattr(Ticket, LEVEL_COLUMN[area.level])
    if db.session.execute(sa.select(Ticket.id).where(column == area.id).limit(1)).first():
        return _("Tickets refer to this area; it cannot be deleted.")
    for model, attr in ((User, "scope_area_id"), (Department, "area_id"), (DispatchRule, "area_id"),
                        (ApiClient, "scope_area_id")):
        if db.session.execute(sa.select(model.id).where(getattr(model, attr) == area.id).limit(1)).first():
            return _("Users, departments, dispatch rules or API clients refer to this area; it "
                     "cannot be deleted. Untick Active to take it out of use.")
    return None


LEVEL_COLUMN = {AreaLevel.DISTRICT: "district_id", AreaLevel.STREET: "street_id",
                AreaLevel.COMMUNITY: "community_id", AreaLevel.GRID: "grid_id"}


def lineage(area: Area) -> dict[AreaLevel, Area]:
    """The area and its ancestors by level (district … itself)."""
    ids = area.ancestor_ids
    rows = db.session.execute(sa.select(Area).where(Area.id.in_(ids))).scalars()
    return {a.level: a for a in rows}


def import_areas(collection: dict) -> dict[str, int]:
    """Create or update areas from a GeoJSON FeatureCollection, all or nothing.

    Every feature has properties ``code``, ``name``, ``level`` and ``parent_code`` (empty for a
    district); the parent may be in the same file or already in the database. Returns counts of
    created and updated areas; raises ``AreaImportError`` listing every bad feature, and then
    nothing has been written.
    """
    features = _features(collection)
    errors: list[str] = []
    parsed: list[tuple[int, dict, AreaLevel, dict | None]] = []
    codes_in_file: dict[str, AreaLevel] = {}
    for number, feature in enumerate(features, start=1):
        props = feature.get("properties") or {}
        code = str(props.get("code") or "").strip()
        name = str(props.get("name") or "").strip()
        try:
            level = AreaLevel(str(props.get("level") or "").strip().lower())
        except ValueError:
            errors.append(f"feature {number} ({code or 'no code'}): level must be one of "
                          + ", ".join(lvl.value for lvl in AREA_LEVELS))
            continue
        if not code or not name:
            errors.append(f"feature {number}: code and name are required")
            continue
        if code in codes_in_file:
            errors.append(f"feature {number} ({code}): code appears twice in the file")
            continue
        geometry = None
        if feature.get("geometry") is not None:
            try:
                geometry = geometry_to_geojson(parse_boundary(feature["geometry"]))
            except GeometryError as exc:
                errors.append(f"feature {number} ({code}): {exc}")
                continue
        elif level == AreaLevel.GRID:
            errors.append(f"feature {number} ({code}): a grid needs a boundary polygon")
            continue
        codes_in_file[code] = level
        props = dict(props, code=code, name=name,
                     parent_code=str(props.get("parent_code") or "").strip())
        parsed.append((number, props, level, geometry))

    existing = {a.code: a for a in db.session.execute(sa.select(Area)).scalars()}
    for number, props, level, _geometry in parsed:
        parent_code = props["parent_code"]
        if level == AreaLevel.DISTRICT:
            if parent_code:
                errors.append(f"feature {number} ({props['code']}): a district has no parent")
            continue
        parent_level = codes_in_file.get(parent_code) or (
            existing[parent_code].level if parent_code in existing else None)
        if parent_level is None:
            errors.append(f"feature {number} ({props['code']}): parent {parent_code or '(none)'} "
                          "is neither in the file nor in the database")
        elif parent_level != level.parent_level:
            errors.append(f"feature {number} ({props['code']}): a {level.value} must sit under a "
                          f"{level.parent_level.value}, but {parent_code} is a {parent_level.value}")
        if props["code"] in existing and existing[props["code"]].level != level:
            errors.append(f"feature {number} ({props['code']}): already exists as a "
                          f"{existing[props['code']].level.value}")
    if errors:
        raise AreaImportError(errors)

    counts = {"created": 0, "updated": 0}
    with db.session.begin_nested():
        by_code = dict(existing)
        for _number, props, level, geometry in sorted(parsed, key=lambda p: p[2].depth):
            area = by_code.get(props["code"])
            counts["updated" if area else "created"] += 1
            if area is None:
                area = Area(code=props["code"], level=level)
                by_code[area.code] = area
            area.name = props["name"]
            if geometry is not None:
                set_boundary(area, geometry)
            place_area(area, by_code.get(props["parent_code"]))
    return counts


class AreaImportError(ValueError):
    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


def _features(collection: object) -> list[dict]:
    if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection":
        raise AreaImportError(["the file must be a GeoJSON FeatureCollection"])
    features = collection.get("features")
    if not isinstance(features, list) or not features:
        raise AreaImportError(["the FeatureCollection has no features"])
    bad = [i for i, f in enumerate(features, 1) if not isinstance(f, dict) or f.get("type") != "Feature"]
    if bad:
        raise AreaImportError([f"feature {i}: not a GeoJSON Feature" for i in bad])
    return features
