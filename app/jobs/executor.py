"""What the queue expects from the layers above it, wired once by the app factory.

The queue runs work it does not know: an *executor* (``run_id, progress -> Outcome``, the sync
package's ``execute_run``) and two *outcome hooks* that apply what a run's end means for its
client (the integrations package's schedule). Both live above ``app.jobs`` and are passed in
through ``init_app``, so ``app.jobs`` imports neither.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from flask import Flask, current_app


@dataclass
class Outcome:
    """A run's result: records per data set, accounting-check warnings, a note for humans.

    ``result`` is what a run produced for a person to act on (the accounts a deletion preview
    found), stored on the run.
    """

    counts: dict[str, int] = field(default_factory=dict)
    warnings: list[dict] = field(default_factory=list)
    message: str | None = None
    result: Any = None


class FinishedRun(NamedTuple):
    """The facts of a finished run that its hooks may act on."""

    id: int
    kind: str
    trigger: str
    integration_id: int
    client_id: int | None


@dataclass(frozen=True)
class RunHooks:
    """The executor and the outcome hooks; the hooks run inside the run's final transaction."""

    executor: Callable[..., Outcome]
    after_success: Callable[[FinishedRun, datetime], None]
    after_failure: Callable[[FinishedRun, str], None]


def init_app(app: Flask, hooks: RunHooks) -> None:
    """Register the executor and outcome hooks for every worker of ``app``."""
    app.extensions["jobs"] = hooks


def hooks() -> RunHooks:
    """The hooks registered for the current app."""
    return current_app.extensions["jobs"]
