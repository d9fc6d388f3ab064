"""``agentexec batch``: many tasks, each in a fresh workspace and its own runtime, in parallel.

The driver (``scheduler``) discovers tasks (``discovery``), skips those a previous run under the
same output directory already finished (``summary``), and hands each remaining task as a plain,
picklable ``Job`` (``jobs``) to an engine: ``local`` runs every task in a fresh worker process
(``local``), ``ray`` runs every task as a Ray task (``ray_engine``). Both engines run the same
``worker.run_job``, which reuses the one agent loop (``agentexec.loop.run_task``), so a batch gives
the same summary whichever engine ran it. Engines enforce timeouts and turn a raising, hung or
killed worker into a failed task; the driver alone writes the output directory.
"""
