"""Running the forecast engine's fits: in this process, in local worker processes, or on a dask cluster,
and how many workers ``n_jobs`` asks for (the scikit-learn convention: -1 all cores, -2 all but one).
"""
from __future__ import annotations

import math
import os

from planlib.core.errors import ForecastError
from planlib.forecast import models as _models

__all__: list[str] = []


def _workers(n_jobs) -> int:
    """Return the number of worker processes ``n_jobs`` asks for, as scikit-learn and statsforecast read it.

    None or 1 fits in this process; a positive number is that many processes; -1 is every core, -2 all
    but one and so on (never fewer than one). 0 asks for no worker at all and is an error.
    """
    if n_jobs is None:
        return 1
    if isinstance(n_jobs, bool) or not hasattr(n_jobs, "__index__"):
        raise ForecastError(f"n_jobs must be a whole number (1 in this process, -1 all cores), got {n_jobs!r}")
    n_jobs = int(n_jobs)
    if n_jobs == 0:
        raise ForecastError("n_jobs=0 asks for no worker: use 1 (or None) to fit in this process, a positive "
                            "number for that many worker processes, -1 for all cores or -2 for all but one")
    if n_jobs > 0:
        return n_jobs
    return max(1, (os.cpu_count() or 1) + 1 + n_jobs)


def _process_context():
    """Start worker processes by fork where the platform has it: workers start at once with
    statsmodels loaded, and a script needs no ``if __name__ == "__main__"`` guard (forkserver and
    spawn re-run the main script in each worker)."""
    import multiprocessing as mp

    return mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None


def _run(tasks, workers, scheduler, progress):
    """Fit every task locally, in ``workers`` processes (see :func:`_workers`), or on a dask cluster;
    keep the input order."""
    from tqdm.auto import tqdm

    size = max(1, min(25, math.ceil(len(tasks) / (4 * max(workers, 1)))))
    batches = [tasks[i:i + size] for i in range(0, len(tasks), size)]
    ctx = _process_context() if not scheduler and workers > 1 else None
    bar = tqdm(total=len(tasks), desc="forecast", unit="series", disable=not progress)
    out: list = [None] * len(batches)
    try:
        if scheduler:
            try:
                from distributed import Client
            except ImportError:
                raise ForecastError(f"forecast.scheduler names a dask cluster ({scheduler}), but dask.distributed "
                                    "is not installed: pip install 'planlib[scale]'") from None

            with Client(scheduler, set_as_default=False) as client:
                futures = client.map(_models.fit_batch, batches, pure=False)
                for i, fut in enumerate(futures):
                    out[i] = client.gather(fut)
                    bar.update(len(out[i]))
        elif workers <= 1 or len(batches) == 1:
            for i, batch in enumerate(batches):
                out[i] = _models.fit_batch(batch)
                bar.update(len(batch))
        else:
            import concurrent.futures as cf

            with cf.ProcessPoolExecutor(max_workers=min(workers, len(batches)), mp_context=ctx) as pool:
                futures = {pool.submit(_models.fit_batch, b): i for i, b in enumerate(batches)}
                for fut in cf.as_completed(futures):
                    out[futures[fut]] = fut.result()
                    bar.update(len(out[futures[fut]]))
    finally:
        bar.close()
    return [fit for batch in out for fit in batch]
