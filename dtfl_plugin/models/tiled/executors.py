"""Where the per-tile tasks run: one after another in this process, or on a Dask cluster.

Dask is optional and server-side: this module imports it only when a DaskExecutor is made. The same tasks run on a
``LocalCluster`` or on any scheduler given by address (dask-kubernetes, the Dask Helm chart, dask-jobqueue).
"""

from __future__ import annotations

from ..local.depressions import CancelledError


class LocalExecutor:
    """Tiles one after another; cancel is checked between tiles."""

    def map(self, fn, spec, tiles, args, done=None, is_cancelled=None, consume=None) -> list:
        """Results in tile order; with ``consume``, each is handed to it as it comes and not kept."""
        out = []
        for k, t in enumerate(tiles):
            if is_cancelled is not None and is_cancelled():
                raise CancelledError()
            result = fn(spec, t, *args)
            if consume is None:
                out.append(result)
            else:
                consume(result)
            if done:
                done(k + 1, len(tiles))
        return out


class DaskExecutor:
    """Tiles as dask.distributed tasks. ``address``: a scheduler ("tcp://host:8786"); None: a LocalCluster."""

    def __init__(self, address: str | None = None, workers: int | None = None, threads_per_worker: int = 1):
        from dask.distributed import Client, LocalCluster

        self.cluster = None
        if address:
            self.client = Client(address)
        else:
            # One machine's cluster listens on loopback only: scheduler, workers and dashboard (":0" would be every
            # interface, open to the network of whoever runs the model server).
            self.cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=threads_per_worker,
                processes=True,
                host="127.0.0.1",
                dashboard_address="127.0.0.1:0",
            )
            self.client = Client(self.cluster)

    def map(self, fn, spec, tiles, args, done=None, is_cancelled=None, consume=None) -> list:
        """Results in tile order; with ``consume``, each is handed to it as it completes and not kept."""
        from dask.distributed import as_completed

        futures = [self.client.submit(fn, spec, t, *args, pure=False) for t in tiles]
        index = {f.key: k for k, f in enumerate(futures)}
        out = [None] * len(futures)
        finished = 0
        try:
            for future in as_completed(futures):
                if is_cancelled is not None and is_cancelled():
                    raise CancelledError()
                if consume is None:
                    out[index[future.key]] = future.result()
                else:
                    consume(future.result())
                finished += 1
                if done:
                    done(finished, len(futures))
        except BaseException:
            self.client.cancel(futures)
            raise
        return out

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
