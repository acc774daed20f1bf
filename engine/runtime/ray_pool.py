"""Independent model work on Ray workers that each hold the model.

A job is a picklable callable `job(runtime, start) -> result`: `runtime` is the worker's own
(engine.runtime.factory.build_runtime; the model loads on its first job) and `start` the
adapter folder the jobs were given (None: the base model). RayPool runs a list of jobs on N
Ray actors and yields the results in submission order; Serial runs the same jobs one after
another on a runtime in this process, so a caller has one code path with or without Ray.

Ray is imported only when a pool starts. "local" starts a Ray instance in this process with
one CPU per worker and each worker on cores/workers threads (so two workers do not fight
over the cores); an address connects to a running cluster, checked first because ray.init
waits without end for one it cannot reach. The start adapter travels as its files' bytes,
so a remote worker needs no shared filesystem, but every worker needs this package
installed. A job that raises on a worker raises the same exception here.

Trust: whoever can reach a Ray can run code in it, and Ray sends results back pickled, so
the Ray a pool uses can run code in this process (the one that writes the session). A local
Ray therefore listens on the loopback address only (Ray's single-machine mode), so no other
machine can reach it; a cluster joined by address is trusted as this process is.
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from threading import Event
from typing import Any, Protocol

from engine.config import LOCAL_RAY, ModelConfig, TrainConfig
from engine.runtime.protocol import Runtime

Job = Callable[[Runtime, Path | None], Any]
Packed = tuple[str, dict[str, bytes]] | None
"""An adapter folder as (content key, {file name: bytes}); None: the base model."""

INSTALL = "install the ray extra: pip install -e '.[ray]'"
OBJECT_STORE_BYTES = 256 << 20
"""A local Ray's object store: jobs and results are small, adapters a few MB."""
SINGLE_MACHINE = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
"""Ray's switch that, set to 0, keeps every server of a local Ray on the loopback address
(its processes read it when they start; this one at import, hence _loopback_only)."""


class RayPoolError(Exception):
    """Ray is missing or cannot start or be reached; the message says which and what to do."""


def import_ray():
    """The ray module, or RayPoolError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise RayPoolError(f"Ray is not installed: {INSTALL}") from None
    return ray


class Workers(Protocol):
    """Where jobs run: Serial or RayPool."""

    def run(self, jobs: Sequence[Job], start: Path | None = None, stop: Event | None = None) -> Iterator: ...


class Serial:
    """The jobs one after another on `runtime`, in this process (no Ray)."""

    def __init__(self, runtime: Runtime):
        self.runtime = runtime

    def run(self, jobs: Sequence[Job], start: Path | None = None, stop: Event | None = None) -> Iterator:
        for job in jobs:
            if stop is not None and stop.is_set():
                return
            yield job(self.runtime, start)


def pack(folder: Path | None) -> Packed:
    """An adapter folder's files (its GGUF export aside) as bytes, keyed by their content."""
    if folder is None:
        return None
    files = {
        f.name: f.read_bytes()
        for f in sorted(Path(folder).iterdir())
        if f.is_file() and f.suffix != ".gguf" and not f.name.startswith(".")  # nor a conversion in flight
    }
    key = hashlib.sha256(b"".join(name.encode() + data for name, data in files.items())).hexdigest()[:16]
    return key, files


class _Worker:
    """One Ray actor: its own runtime, and the last start adapter it was sent, as a folder."""

    def __init__(self, model: ModelConfig, train: TrainConfig):
        self.model, self.train = model, train
        self.runtime: Runtime | None = None
        self.folders = Path(tempfile.mkdtemp(prefix="seal-ray-"))

    def _unpack(self, start: Packed) -> Path | None:
        if start is None:
            return None
        key, files = start
        folder = self.folders / key
        if not folder.is_dir():
            for old in self.folders.iterdir():  # one start adapter at a time
                shutil.rmtree(old, ignore_errors=True)
            partial = self.folders / f".{key}"
            partial.mkdir()
            for name, data in files.items():
                (partial / name).write_bytes(data)
            partial.rename(folder)
        return folder

    def run(self, job: Job, start: Packed) -> tuple[bool, Any]:
        """(True, the job's result) or (False, the exception it raised)."""
        try:
            if self.runtime is None:
                from engine.runtime.factory import build_runtime

                self.runtime = build_runtime(self.model, self.train)
            return True, job(self.runtime, self._unpack(start))
        except Exception as exc:  # raised again in the driver, as itself
            return False, exc

    def close(self) -> None:
        if self.runtime is not None:
            self.runtime.close()
        shutil.rmtree(self.folders, ignore_errors=True)


def _check_reachable(address: str) -> None:
    """RayPoolError unless host:port (or ray://host:port) accepts a connection within 5 s."""
    if address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as exc:
        raise RayPoolError(f"cannot reach the Ray cluster at {address}: {exc.strerror or exc}") from None


class RayPool:
    """N Ray actors, each holding the model; `run` hands back results in submission order."""

    def __init__(self, model: ModelConfig, train: TrainConfig, address: str = LOCAL_RAY, workers: int = 2):
        ray = import_ray()
        self.address, self.workers = address, workers
        self._started = False
        if address == LOCAL_RAY and model.threads == 0:  # the cores shared out, not each worker taking all
            from engine.runtime.cores import usable_cores

            model = replace(model, threads=max(1, usable_cores() // workers))
        if ray.is_initialized():
            pass  # a Ray this process already joined (a test's)
        elif address == LOCAL_RAY:
            _loopback_only(True)
            try:
                self._init(ray, num_cpus=workers, object_store_memory=OBJECT_STORE_BYTES)
            except RayPoolError:
                _loopback_only(False)
                raise
        else:
            _check_reachable(address)
            self._init(ray, address=address)
        resources = ray.cluster_resources()
        if resources.get("CPU", 0) < workers:
            self.close()
            raise RayPoolError(f"the Ray cluster has {resources.get('CPU', 0):g} CPUs, fewer than {workers} workers")
        gpus = 1 if resources.get("GPU", 0) >= workers else 0  # one GPU each where there are enough
        actor = ray.remote(num_cpus=1, num_gpus=gpus)(_Worker)
        self._actors = [actor.remote(model, train) for _ in range(workers)]

    def _init(self, ray, **where) -> None:
        try:
            ray.init(
                **where,
                include_dashboard=False,
                log_to_driver=False,
                logging_level=logging.ERROR,
                configure_logging=True,
            )
        except Exception as exc:  # Ray raises many kinds; the person needs the sentence
            raise RayPoolError(f"Ray could not start at {where.get('address', LOCAL_RAY)}: {exc}") from None
        self._started = True

    def run(self, jobs: Sequence[Job], start: Path | None = None, stop: Event | None = None) -> Iterator:
        """Each job on the next free worker; results in the jobs' order. Once `stop` is set,
        no new job starts and the running ones are cancelled."""
        ray = import_ray()
        packed = ray.put(pack(start))
        waiting = list(enumerate(jobs))
        idle = list(self._actors)
        running: dict = {}  # ObjectRef -> (job index, actor)
        done: dict[int, Any] = {}
        given = 0
        try:
            while given < len(jobs):
                while idle and waiting:
                    index, job = waiting.pop(0)
                    actor = idle.pop(0)
                    running[actor.run.remote(job, packed)] = (index, actor)
                ready, _ = ray.wait(list(running), num_returns=1, timeout=0.2)
                if stop is not None and stop.is_set():
                    return
                for ref in ready:
                    index, actor = running.pop(ref)
                    idle.append(actor)
                    ok, value = ray.get(ref)
                    if not ok:
                        raise value
                    done[index] = value
                while given in done:
                    yield done.pop(given)
                    given += 1
        finally:
            for ref in running:
                try:
                    ray.cancel(ref)
                except Exception:  # finished meanwhile, or a Ray that cannot cancel actor tasks
                    pass

    def close(self) -> None:
        """Close each worker's runtime, end the actors, and the local Ray this pool started."""
        ray = import_ray()
        actors, self._actors = getattr(self, "_actors", []), []
        if not ray.is_initialized():  # Ray is down already (its own exit hook), the actors with it;
            return  # a remote call now would start a fresh Ray
        try:
            ray.get([a.close.remote() for a in actors], timeout=30)
        except Exception:  # a dead or stuck worker: it is killed below either way
            pass
        for a in actors:
            ray.kill(a)
        if self._started:
            ray.shutdown()
            self._started = False
            if self.address == LOCAL_RAY:
                _loopback_only(False)


_outer: list[str | None] = []
"""The person's own setting of SINGLE_MACHINE while a local Ray runs, given back after."""


def _loopback_only(on: bool) -> None:
    """Start Ray's processes on the loopback address only (on), or as before (off)."""
    if on:
        _outer[:] = [os.environ.get(SINGLE_MACHINE)]
        os.environ[SINGLE_MACHINE] = "0"
    elif (previous := _outer.pop() if _outer else None) is not None:
        os.environ[SINGLE_MACHINE] = previous  # the person's own setting
    else:
        os.environ.pop(SINGLE_MACHINE, None)
    constants = sys.modules.get("ray._private.ray_constants")  # read when ray was imported
    if constants is not None and hasattr(constants, "ENABLE_RAY_CLUSTER"):
        told = os.environ.get(SINGLE_MACHINE)
        default = not getattr(constants, "IS_WINDOWS_OR_OSX", False)
        constants.ENABLE_RAY_CLUSTER = default if told is None else told.lower() in ("1", "true")  # type: ignore[attr-defined]


_shared: dict[tuple, RayPool] = {}


def shared_pool(model: ModelConfig, train: TrainConfig, address: str, workers: int) -> RayPool:
    """One pool kept for these settings (the reward filter uses it passage after passage),
    closed when the settings change, by close_shared, or when the process exits."""
    key = (model, train, address, workers)
    if key not in _shared:
        close_shared()
        _shared[key] = RayPool(model, train, address, workers)
        atexit.unregister(close_shared)
        atexit.register(close_shared)  # after Ray's own exit hook, so it runs before it
    return _shared[key]


def close_shared() -> None:
    """Close the kept pool, if any."""
    while _shared:
        _shared.popitem()[1].close()
