"""Who may do what, by role: every set of roles GridDesk checks, defined once, in the users' words.

Views, the API, jobs and the workflow ask these sets (or the functions of models.people.access);
a role check written anywhere else is a second copy of a rule.
"""
from __future__ import annotations

from models.vocabulary import AreaLevel, Role

ALL_ROLES = frozenset(Role)

# Administrators configure the system: areas, departments, users, categories, dispatch rules,
# the work calendar, notification channels and templates.
CONFIGURING_ROLES = frozenset({Role.ADMIN})

# Command centres (and administrators): take escalations, import the office's old ledgers, are
# told on the home page when a year's work calendar is missing or provisional.
COMMAND_ROLES = frozenset({Role.ADMIN, Role.DISTRICT_CENTRE, Role.STREET_CENTRE})

# Who reads the district-wide overviews (the responsibility matrix): command centres and leaders.
OVERVIEW_ROLES = COMMAND_ROLES | {Role.LEADER}

# Managers dispatch, re-dispatch, review closures, correct and bulk-edit the tickets of their
# scope area, and phone the reporter back.
MANAGER_ROLES = frozenset({Role.ADMIN, Role.DISTRICT_CENTRE, Role.STREET_CENTRE,
                           Role.COMMUNITY_STAFF})

# Who sees the reporter's full phone number (managers call back); the others see it masked,
# unless the ticket is assigned to them.
FULL_PHONE_ROLES = MANAGER_ROLES

# Who reports a ticket themselves: staff entering hotline and walk-in reports, grid workers
# their patrol finds — in the admin panel and through the API alike.
REPORTING_ROLES = MANAGER_ROLES | {Role.GRID_WORKER}

# Who reads the performance rankings (绩效考核): command centres and leaders for their area,
# community staff for their community. A command centre publishes (freezes) a month's ranking
# of its own area — each street its own, the district its district; an administrator any area.
EVALUATION_READER_ROLES = OVERVIEW_ROLES | {Role.COMMUNITY_STAFF}
PUBLISHING_ROLES = frozenset({Role.ADMIN, Role.DISTRICT_CENTRE, Role.STREET_CENTRE})

# Who puts tickets under supervision (督办) and lifts it: command centres of a street or the
# district, leaders and administrators (models/tickets/supervision.py ranks them by level).
SUPERVISING_ROLES = OVERVIEW_ROLES

# Leaders read dashboards, lists and tickets; they change nothing, through any channel — except
# that they may put a ticket under supervision (督办, SUPERVISING_ROLES above), which changes no
# state of the ticket, only asks for it to be settled.
READ_ONLY_ROLES = frozenset({Role.LEADER})

# The people a ticket can be assigned to (offered in the assign form and the list filter).
ASSIGNABLE_ROLES = frozenset({Role.GRID_WORKER, Role.HANDLER, Role.COMMUNITY_STAFF})

# Who is told when a result or an extension waits for review: the community staff and the
# street command centre of the ticket's place.
REVIEWER_ROLES = frozenset({Role.COMMUNITY_STAFF, Role.STREET_CENTRE})

# Roles that see every ticket inside their scope area (the others see their own tickets).
AREA_SCOPED_ROLES = frozenset({Role.DISTRICT_CENTRE, Role.STREET_CENTRE, Role.COMMUNITY_STAFF,
                               Role.LEADER})

# Roles that see every ticket and every area, whatever their scope area.
EVERYWHERE_ROLES = frozenset({Role.ADMIN})

# Who reads the statistics' area views: an area's monthly report (printable page and PDF) and
# its indicator tables, the analysis (分析研判: hotspots, seasons, recurring problems) and the
# statistics map, in the admin panel and in the JSON API (hotspots, seasonality) — the roles
# whose view is an area: administrators, command centres, community staff and leaders. Grid
# workers and department handlers read their own figures on the dashboard instead
# (models.stats.scope.own_unit): area counts are not counted for a person.
AREA_REPORT_ROLES = AREA_SCOPED_ROLES | EVERYWHERE_ROLES

# The level a role's scope area must have.
ROLE_SCOPE_LEVEL = {
    Role.DISTRICT_CENTRE: AreaLevel.DISTRICT,
    Role.STREET_CENTRE: AreaLevel.STREET,
    Role.COMMUNITY_STAFF: AreaLevel.COMMUNITY,
    Role.GRID_WORKER: AreaLevel.GRID,
}

# Field staff on phones: grid workers and department handlers use the mobile app /m/ (their
# tasks, patrol rounds); everyone else works in the admin panel.
FIELD_ROLES = frozenset({Role.GRID_WORKER, Role.HANDLER})

# Who walks patrol rounds (巡查) and records them: grid workers, in their own grid.
PATROLLING_ROLES = frozenset({Role.GRID_WORKER})

# Who reads patrol rounds and coverage in the admin panel: administrators everywhere, command
# centres, community staff and leaders inside their scope area.
PATROL_OVERSIGHT_ROLES = EVERYWHERE_ROLES | AREA_SCOPED_ROLES
