"""stats_followups: rated closures in the rollups (rating coverage by closure day); published
months per role and area; imported closures and rated closures folded again

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-02 13:15:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None

ROLES = ('grid_worker', 'department', 'community')


def upgrade():
    for table in ('stats_facts', 'stats_daily'):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('closed_rated', sa.BigInteger(), nullable=False,
                                       server_default='0'))
    with op.batch_alter_table('evaluation_months') as batch:
        batch.add_column(sa.Column('role', sa.String(length=24), nullable=True))
        batch.add_column(sa.Column('area_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('area_path', sa.String(length=255), nullable=False,
                                   server_default=''))
        batch.add_column(sa.Column('area_name', sa.String(length=100), nullable=False,
                                   server_default=''))
        batch.drop_constraint('uq_evaluation_months_month', type_='unique')
        batch.create_foreign_key('fk_evaluation_months_area_id_areas', 'areas',
                                 ['area_id'], ['id'])
    _split_publications_by_role()
    with op.batch_alter_table('evaluation_months') as batch:
        batch.alter_column('role', existing_type=sa.String(length=24), nullable=False)
        batch.create_unique_constraint('uq_evaluation_months_scope',
                                       ['month', 'role', 'area_path'])
    # The scheduler folds these tickets again: closures now know whether they were rated, and
    # ledger rows imported as closed count as closures.
    op.execute("INSERT INTO stats_pending (ticket_id) SELECT DISTINCT ticket_id FROM stats_facts "
               "WHERE closed > 0")
    op.execute("INSERT INTO stats_pending (ticket_id) SELECT id FROM tickets "
               "WHERE source = 'import' AND status = 'closed'")


def _split_publications_by_role():
    """A month published before covered every role over the whole system: one row per role."""
    conn = op.get_bind()
    months = conn.execute(sa.text(
        "SELECT id, month, published_at, published_by_id, published_by_name, schemes "
        "FROM evaluation_months")).mappings().all()
    for row in months:
        conn.execute(sa.text("UPDATE evaluation_months SET role = :role WHERE id = :id"),
                     {"role": ROLES[0], "id": row["id"]})
        for role in ROLES[1:]:
            conn.execute(sa.text(
                "INSERT INTO evaluation_months (month, role, area_path, area_name, published_at, "
                "published_by_id, published_by_name, schemes) VALUES (:month, :role, '', '', "
                ":published_at, :published_by_id, :published_by_name, :schemes)"),
                {"month": row["month"], "role": role, "published_at": row["published_at"],
                 "published_by_id": row["published_by_id"],
                 "published_by_name": row["published_by_name"],
                 "schemes": _json_text(row["schemes"])})
            new_id = conn.execute(sa.text(
                "SELECT id FROM evaluation_months WHERE month = :month AND role = :role"),
                {"month": row["month"], "role": role}).scalar_one()
            conn.execute(sa.text("UPDATE evaluation_results SET month_id = :new "
                                 "WHERE month_id = :old AND role = :role"),
                         {"new": new_id, "old": row["id"], "role": role})


def _json_text(value) -> str:
    import json

    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def downgrade():
    conn = op.get_bind()
    # Back to one system-wide row per month: publications of an area are dropped.
    conn.execute(sa.text("DELETE FROM evaluation_results WHERE month_id IN "
                         "(SELECT id FROM evaluation_months WHERE area_path <> '')"))
    conn.execute(sa.text("DELETE FROM evaluation_months WHERE area_path <> ''"))
    for month, keep in conn.execute(sa.text(
            "SELECT month, MIN(id) FROM evaluation_months GROUP BY month")).all():
        conn.execute(sa.text(
            "UPDATE evaluation_results SET month_id = :keep WHERE month_id IN "
            "(SELECT id FROM evaluation_months WHERE month = :month)"),
            {"keep": keep, "month": month})
        conn.execute(sa.text("DELETE FROM evaluation_months WHERE month = :month AND id <> :keep"),
                     {"keep": keep, "month": month})
    with op.batch_alter_table('evaluation_months') as batch:
        batch.drop_constraint('uq_evaluation_months_scope', type_='unique')
        batch.drop_constraint('fk_evaluation_months_area_id_areas', type_='foreignkey')
        batch.drop_column('area_name')
        batch.drop_column('area_path')
        batch.drop_column('area_id')
        batch.drop_column('role')
        batch.create_unique_constraint('uq_evaluation_months_month', ['month'])
    for table in ('stats_daily', 'stats_facts'):
        with op.batch_alter_table(table) as batch:
            batch.drop_column('closed_rated')
