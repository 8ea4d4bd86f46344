"""Sticos customers: the accounting firms and companies that own integrations."""
