"""Visma shapes: subaccount, branch and ledger keys

GL balances are keyed by subaccount too (and say their balance type), party balances by
branch; journal lines gain subaccount, branch, amounts in currency and the VAT code's
description. Existing rows get empty codes and, for lines, amounts in currency equal to the
amounts (what a NOK batch has); the next sync rewrites them from the source.

Revision ID: f71793f23afc
Revises: 7c1e4b9d2a61
Create Date: 2026-12-02 06:36:06.614397

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'f71793f23afc'
down_revision = '7c1e4b9d2a61'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('accounting_customer_balance', schema=None) as batch_op:
        batch_op.add_column(sa.Column('branch_number', sa.String(length=30), nullable=False, server_default=''))
        batch_op.drop_constraint(batch_op.f('uq_accounting_customer_balance_natural_key'), type_='unique')
        batch_op.create_unique_constraint('uq_accounting_customer_balance_natural_key', ['client_id', 'generation', 'party_number', 'branch_number'])

    with op.batch_alter_table('accounting_gl_balance', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subaccount', sa.String(length=30), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('balance_type', sa.String(length=20), nullable=False, server_default=''))
        batch_op.drop_constraint(batch_op.f('uq_accounting_gl_balance_natural_key'), type_='unique')
        batch_op.create_unique_constraint('uq_accounting_gl_balance_natural_key', ['client_id', 'generation', 'period', 'account_number', 'subaccount', 'branch_number', 'ledger_id'])

    with op.batch_alter_table('accounting_journal_line', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subaccount', sa.String(length=30), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('branch_number', sa.String(length=30), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('debit_in_currency', sa.Numeric(precision=18, scale=2), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('credit_in_currency', sa.Numeric(precision=18, scale=2), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('vat_description', sa.String(length=200), nullable=False, server_default=''))
    op.execute("UPDATE accounting_journal_line SET debit_in_currency = debit, "
               "credit_in_currency = credit")

    with op.batch_alter_table('accounting_supplier_balance', schema=None) as batch_op:
        batch_op.add_column(sa.Column('branch_number', sa.String(length=30), nullable=False, server_default=''))
        batch_op.drop_constraint(batch_op.f('uq_accounting_supplier_balance_natural_key'), type_='unique')
        batch_op.create_unique_constraint('uq_accounting_supplier_balance_natural_key', ['client_id', 'generation', 'party_number', 'branch_number'])



def downgrade():
    with op.batch_alter_table('accounting_supplier_balance', schema=None) as batch_op:
        batch_op.drop_constraint('uq_accounting_supplier_balance_natural_key', type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_accounting_supplier_balance_natural_key'), ['client_id', 'generation', 'party_number'])
        batch_op.drop_column('branch_number')

    with op.batch_alter_table('accounting_journal_line', schema=None) as batch_op:
        batch_op.drop_column('vat_description')
        batch_op.drop_column('credit_in_currency')
        batch_op.drop_column('debit_in_currency')
        batch_op.drop_column('branch_number')
        batch_op.drop_column('subaccount')

    with op.batch_alter_table('accounting_gl_balance', schema=None) as batch_op:
        batch_op.drop_constraint('uq_accounting_gl_balance_natural_key', type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_accounting_gl_balance_natural_key'), ['client_id', 'generation', 'period', 'account_number', 'branch_number', 'ledger_id'])
        batch_op.drop_column('balance_type')
        batch_op.drop_column('subaccount')

    with op.batch_alter_table('accounting_customer_balance', schema=None) as batch_op:
        batch_op.drop_constraint('uq_accounting_customer_balance_natural_key', type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_accounting_customer_balance_natural_key'), ['client_id', 'generation', 'party_number'])
        batch_op.drop_column('branch_number')

