"""What a running job sees: progress reporting on its SyncRun row, its outcome, its failure."""

from app.jobs.executor import Outcome
from app.jobs.queue import Claim, record_progress

__all__ = ["Outcome", "Progress", "RunFailed"]


class RunFailed(Exception):
    """A run cannot finish; ``message`` is for the customer (Norwegian, Visma's own words
    where it gave some). ``retryable`` False means retrying cannot help (e.g. the
    authorization is gone), so the worker must not try again."""

    def __init__(self, message: str, *, retryable: bool = True):
        super().__init__(message)
        self.message = message
        self.retryable = retryable


class Progress:
    """Writes a run's current step, done/total and counts, and extends its lease.

    Each call commits at once: the engine calls it between its own page commits, so
    progress is visible while the run works and never holds a write lock for long.
    """

    def __init__(self, claim: Claim):
        self.claim = claim
        self.run_id = claim.run_id
        self.counts: dict[str, int] = {}

    def update(
        self,
        step: str | None = None,
        *,
        done: int | None = None,
        total: int | None = None,
        counts: dict[str, int] | None = None,
    ) -> None:
        """Record the current step and figures; extends the lease. Commits (raises LeaseLost
        when the run is no longer this worker's)."""
        if counts:
            for name, value in counts.items():
                self.counts[name] = self.counts.get(name, 0) + value
        values: dict = {"counts": dict(self.counts)}
        if step is not None:
            values["current_step"] = step[:200]
        if done is not None:
            values["progress_done"] = done
        if total is not None:
            values["progress_total"] = total
        record_progress(self.claim, values)
