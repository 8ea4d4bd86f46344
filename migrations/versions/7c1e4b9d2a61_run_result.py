"""sync_run.result: what a run found for a person to act on (deletion previews)

Revision ID: 7c1e4b9d2a61
Revises: 05b2b1e99d3b
Create Date: 2026-12-02 06:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7c1e4b9d2a61'
down_revision = '05b2b1e99d3b'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('sync_run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('result', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('sync_run', schema=None) as batch_op:
        batch_op.drop_column('result')
