"""accounting_dataset_state.reserved_generation: each full sync writes a generation of its own

Revision ID: 3f6a0d2c8b17
Revises: 0e78ab5f5ddb
Create Date: 2026-12-02 07:35:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3f6a0d2c8b17'
down_revision = '0e78ab5f5ddb'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('accounting_dataset_state', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reserved_generation', sa.Integer(), server_default='0',
                                      nullable=False))
    # Generations above the current one may hold rows of an unfinished full sync.
    op.execute('UPDATE accounting_dataset_state SET reserved_generation = current_generation')


def downgrade():
    with op.batch_alter_table('accounting_dataset_state', schema=None) as batch_op:
        batch_op.drop_column('reserved_generation')
