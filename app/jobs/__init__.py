"""Background work: the run queue, the workers that drain it and the scheduler that fills it.

Below the integrations and sync packages: it imports neither (see ``executor``).

- ``models``     SyncRun (queue + history), SchedulerJob (the scheduler's state, for every process)
- ``queue``      every state change of a run: enqueue (deduplicated), claim (fair, limited
                 per integration), lease, progress, release, cancel, outcome (success, retry
                 with back-off, failure), pruning; ``held_by`` is the one "this worker still
                 holds it"; its ``requeue_expired_leases`` and ``prune_run_history`` are
                 scheduler jobs
- ``executor``   what the queue expects from above, wired by the app factory: the executor
                 (app.sync) and the outcome hooks (app.integrations.schedule)
- ``runtime``    what a running job sees: Progress, Outcome, RunFailed
- ``worker``     Worker threads, run_inline, start_background_worker (dev server)
- ``scheduler``  APScheduler 3.11, the PostgreSQL advisory-lock election, the job table
- ``queries``    read-only views for the pages: queue_position, queue_stats, scheduler_jobs, …
- ``operations`` people's changes to the scheduler: pause_job, resume_job
- ``cli``        ``flask worker``
"""
