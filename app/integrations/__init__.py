"""Integrations (one accounting-system connection per customer) and their clients."""
