"""The server's pool of reused action threads: overlapping jobs all run at once, finished threads are reused."""

from __future__ import annotations

import threading

from agentexec.thread_pool import ThreadPool


def test_jobs_that_wait_for_each_other_all_run_at_once() -> None:
    pool = ThreadPool("test")
    barrier = threading.Barrier(6, timeout=10)
    done = threading.Semaphore(0)

    def meet() -> None:
        barrier.wait()  # breaks (and the test fails) unless all six run at the same time
        done.release()

    for _ in range(6):
        pool.submit(meet)
    assert all(done.acquire(timeout=10) for _ in range(6))


def test_one_after_another_jobs_reuse_a_thread_and_a_failing_job_does_not_lose_it() -> None:
    pool = ThreadPool("test")
    seen: list[int] = []
    finished = threading.Semaphore(0)

    def record(fail: bool) -> None:
        seen.append(threading.get_ident())
        finished.release()
        if fail:
            raise ValueError("a job's own failure")

    for n in range(20):
        pool.submit(record, n % 5 == 0)
        assert finished.acquire(timeout=10)
        while pool._idle == 0:  # the thread counts itself idle just after the job returns
            threading.Event().wait(0.001)
    assert len(seen) == 20 and len(set(seen)) == 1
