"""Background work: the run queue, the workers that drain it and the scheduler that fills it.

- ``models``     SyncRun (queue + history), SchedulerJob (the scheduler's state, for every process)
- ``queue``      enqueue (deduplicated), claim (fair, limited per integration), leases
- ``runtime``    what a running job sees: Progress, Outcome, RunFailed
- ``outcomes``   finishing a run: success, retry with back-off, failure, escalation per client
- ``worker``     Worker threads, run_inline, start_background_worker (dev server)
- ``periodic``   the scheduler's jobs (they only enqueue and tidy up)
- ``scheduler``  APScheduler 3.11 and the PostgreSQL advisory-lock election
- ``queries``    read-only views for the pages: queue_position, queue_stats, scheduler_jobs, …
- ``operations`` people's changes to the scheduler: pause_job, resume_job
- ``cli``        ``flask worker``
"""
