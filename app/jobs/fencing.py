"""Fencing: a worker that lost its run cannot change anything.

A worker can be frozen past its lease (a long GC pause, a swapped-out VM, SIGSTOP, a network
partition) while another worker claims the run again. When it wakes it must not write one
more row. While a run executes, its session carries the worker's ``Claim``; before every
commit of that session, ``queue.prove_held`` checks in the same transaction that the worker
still holds the run (and extends the lease). If it does not, the commit raises LeaseLost and
everything the transaction wrote is rolled back.

The check sits on the session, not in the store: every write of a run (ORM flushes, Core
statements, driver-level SQL or COPY through ``db.session.connection()``) commits through
this session, so a writer added later is fenced too. Work done in another session or
connection is not.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.orm import Session

from app.extensions import db
from app.jobs.queue import Claim, prove_held

_CLAIM = "fenced_by_claim"


@contextmanager
def fenced(claim: Claim) -> Iterator[None]:
    """Every commit of this context's session inside the block is fenced on ``claim``."""
    session = db.session()
    session.info[_CLAIM] = claim
    try:
        yield
    finally:
        session.info.pop(_CLAIM, None)


@contextmanager
def unfenced() -> Iterator[None]:
    """Commits inside the block are not the run's own (a rotated Visma token: it must be kept
    whichever worker rotated it, or the next refresh presents a used token)."""
    session = db.session()
    claim = session.info.pop(_CLAIM, None)
    try:
        yield
    finally:
        if claim is not None:
            session.info[_CLAIM] = claim


@event.listens_for(Session, "before_commit")
def _prove_held_before_commit(session: Session) -> None:
    claim = session.info.get(_CLAIM)
    if claim is None or session.in_nested_transaction():  # a savepoint is not a commit
        return
    prove_held(claim, session)
