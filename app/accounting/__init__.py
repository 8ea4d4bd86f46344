"""The synced accounting data per client: its tables, how it is written and how it is read."""
