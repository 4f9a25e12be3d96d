"""Scale-out on Ray: `assetgen batch --ray [ADDRESS]` and `assetgen dataset --ray [ADDRESS]` as Ray tasks across a cluster.

    from assetgen.scale import ray_session, run_tasks, Task
    with ray_session("local"):                    # or "auto", "HOST:PORT", "ray://HOST:PORT"
        summary = run_tasks(tasks, on_result)     # on_result(task, value) runs here, once per task

runner.py: connecting, submission, retries, progress, logs, the per-node summary (generic); batch.py:
batch jobs (chunks of asset indices into staging libraries, merged by the driver); dataset.py: data-set
jobs (subjects' images rendered by workers into a shared folder). Importing this
package does not import Ray; only running something does.
"""

from .runner import (LOCAL, RunState, RunSummary, Task, TaskContext, chunk_size, chunks, ray_session, run_tasks,
                     slots)

__all__ = ["LOCAL", "RunState", "RunSummary", "Task", "TaskContext", "chunk_size", "chunks", "ray_session",
           "run_tasks", "slots"]
