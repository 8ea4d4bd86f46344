"""The sync engine: the run kinds that read Visma.net into the store (see ``runs``)."""

from app.sync.runs import execute_run, preview_delete_old_accounts

__all__ = ["execute_run", "preview_delete_old_accounts"]
