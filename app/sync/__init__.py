"""The sync engine: the run kinds that read Visma.net into the store (see ``runs``)."""

from app.sync.runs import execute_run

__all__ = ["execute_run"]
