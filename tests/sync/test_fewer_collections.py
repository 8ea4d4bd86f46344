"""A full sync raises the cyclic collector's thresholds while it reads; runs on several
threads of one worker restore the usual ones only when the last of them ends."""

import gc

from app.sync.engine import BULK_GC_THRESHOLDS, fewer_collections


def test_overlapping_runs_restore_the_usual_thresholds_when_the_last_ends():
    usual = gc.get_threshold()
    first, second = fewer_collections(), fewer_collections()
    first.__enter__()
    second.__enter__()
    assert gc.get_threshold() == BULK_GC_THRESHOLDS
    first.__exit__(None, None, None)
    assert gc.get_threshold() == BULK_GC_THRESHOLDS  # the second run still reads
    second.__exit__(None, None, None)
    assert gc.get_threshold() == usual


def test_a_failing_run_restores_them_too():
    usual = gc.get_threshold()
    try:
        with fewer_collections():
            raise RuntimeError("Visma.net svarte ikke")
    except RuntimeError:
        pass
    assert gc.get_threshold() == usual
