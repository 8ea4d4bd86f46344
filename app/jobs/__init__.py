"""Background work: the run queue, the workers that drain it and the scheduler that fills it."""
