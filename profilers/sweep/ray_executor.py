"""``--executor ray``: a sweep's points on a Ray cluster, as a sweep ``Executor``.

The driver spreads the points over the cluster's nodes (``profilers.sweep.cluster``: exclusive
nodes, one retry when a node is lost, deadlines); each point is one Ray task in a fresh worker
process (``max_calls=1``) pinned to the node the driver picked, and its Result comes back as soon
as it ends, with the node recorded in it.

Ray is optional (``pip install 'plmprof[cluster]'``); nothing here imports it until a cluster sweep
starts. Ray sets the visibility variables of the accelerators it gives a task
(``CUDA_VISIBLE_DEVICES``, ``NEURON_RT_VISIBLE_CORES``, ``HABANA_VISIBLE_MODULES``) and plmprof's
workers pin within them (``engines.placement``).

A task never retries inside Ray (``max_retries=0``): the driver decides (a lost node: once, on
another node), so that a point is never measured twice without the sweep knowing. The Result comes
back compressed in the task's reply, which Ray keeps in the driver's memory (replies under Ray's
100 KiB inline limit), so a node that dies after a point finished cannot take its Result with it.
"""

from __future__ import annotations

import json
import os
import socket
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from engines.errors import InvalidInputError, PlmprofError
from engines.spec import RunSpec
from profilers.cost import read_instance_type
from profilers.options import MeasureOptions
from profilers.result import Result
from profilers.sweep.cluster import ClusterExecutor, ClusterLostError, TaskEnd
from profilers.sweep.execution import Runner, session_runner
from profilers.sweep.nodes import VISIBILITY_VARIABLES, NodeInfo

RAY_MISSING = (
    "--executor ray needs Ray, which is not installed: pip install 'plmprof[cluster]' "
    "(or pip install 'ray==2.60.*')"
)


def import_ray() -> ModuleType:
    """The ``ray`` module, or a clear error when it is not installed."""
    try:
        import ray
    except ImportError:
        raise InvalidInputError(RAY_MISSING) from None
    return ray


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]


def _check_reachable(address: str) -> None:
    """Fail fast and clearly when ``HOST:PORT`` takes no connection (Ray itself retries for a
    minute before it gives up)."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise InvalidInputError(f"--ray-address '{address}' is not 'auto' or HOST:PORT")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as exc:
        raise InvalidInputError(
            f"cannot reach the Ray cluster at {address}: {exc.strerror or exc} "
            "(is its head node up? `ray status` on the head node says)"
        ) from None


def connect(address: str | None) -> tuple[ModuleType, bool]:
    """Ray, connected: to ``address`` (``auto`` or HOST:PORT), or to a new Ray on this machine
    when None. Returns the module and whether this call started the connection (then the caller
    ends it with ``ray.shutdown()``); a driver already connected is used as it is."""
    ray = import_ray()
    if ray.is_initialized():
        return ray, False
    if address not in (None, "auto") and "://" not in str(address):
        _check_reachable(str(address))
    kwargs: dict[str, Any] = {"log_to_driver": False, "logging_level": "WARNING"}
    if address is None:
        kwargs["include_dashboard"] = False
    try:
        ray.init(address=address, **kwargs)
    except Exception as exc:  # Ray raises ConnectionError, RuntimeError, ValueError…
        where = f"at {address}" if address else "on this machine"
        raise InvalidInputError(
            f"cannot reach the Ray cluster {where}: {_first_line(exc)}"
        ) from None
    return ray, True


def run_point(spec: RunSpec, options: MeasureOptions, runner: Runner, exclusive: bool) -> bytes:
    """Inside the Ray task: run the point with ``runner`` (plmprof's session) on this node and
    return its Result (compressed JSON) with the node recorded in ``environment.node``."""
    import ray

    if exclusive and spec.threads is None:
        # Ray sets OMP_NUM_THREADS to the task's CPUs; the point owns the node, so its workers
        # choose their threads as a local run does.
        os.environ.pop("OMP_NUM_THREADS", None)
    result = runner(spec, options, None)
    context = ray.get_runtime_context()
    environment = result.environment if isinstance(result.environment, dict) else {}
    host = socket.gethostname()
    environment.setdefault("host", host)
    environment["node"] = {
        "host": host,
        "ray_node_id": context.get_node_id(),
        "address": ray.util.get_node_ip_address(),
        "instance_type": environment.get("instance_type") or read_instance_type(),
        "accelerator_ids": {k: list(v) for k, v in context.get_accelerator_ids().items() if v},
        "visible": {name: os.environ[name] for name in VISIBILITY_VARIABLES if name in os.environ},
    }
    result.environment = environment
    return zlib.compress(json.dumps(result.to_dict()).encode("utf-8"))


def _ray_errors(ray: ModuleType, *names: str) -> tuple[type[BaseException], ...]:
    """The named exception classes this Ray version has."""
    return tuple(
        cls for name in names if isinstance(cls := getattr(ray.exceptions, name, None), type)
    )


class RayBackend:
    """``ClusterBackend`` on a connected Ray (see ``profilers.sweep.cluster``)."""

    def __init__(self, ray: ModuleType, runner: Runner, *, exclusive: bool = True) -> None:
        self.ray = ray
        self.runner = runner
        self.exclusive = exclusive
        self._task = ray.remote(max_calls=1, max_retries=0)(run_point)
        self._node_lost = _ray_errors(
            ray, "NodeDiedError", "LocalRayletDiedError", "TaskUnschedulableError"
        )
        self._lost = _ray_errors(ray, "WorkerCrashedError", "ObjectLostError")
        self._cancelled = _ray_errors(ray, "TaskCancelledError")
        self._oom = _ray_errors(ray, "OutOfMemoryError")

    def nodes(self) -> list[NodeInfo]:
        try:
            entries = self.ray.nodes()
        except Exception as exc:
            raise ClusterLostError(f"lost the Ray cluster: {_first_line(exc)}") from None
        return [
            NodeInfo(
                node_id=str(entry["NodeID"]),
                host=str(entry.get("NodeManagerHostname") or entry.get("NodeManagerAddress")),
                address=str(entry.get("NodeManagerAddress") or ""),
                resources={str(k): float(v) for k, v in (entry.get("Resources") or {}).items()},
            )
            for entry in entries
            if entry.get("Alive")
        ]

    def submit(
        self, spec: RunSpec, options: MeasureOptions, node: NodeInfo, need: Mapping[str, float]
    ) -> Any:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        custom = {k: v for k, v in need.items() if k not in ("CPU", "GPU")}
        return self._task.options(
            num_cpus=need.get("CPU", 0.0),
            num_gpus=need.get("GPU", 0.0),
            resources=custom or None,
            scheduling_strategy=NodeAffinitySchedulingStrategy(node.node_id, soft=False),
        ).remote(spec, options, self.runner, self.exclusive)

    def wait(self, handles: Sequence[Any], timeout_s: float) -> list[Any]:
        try:
            ready, _ = self.ray.wait(list(handles), num_returns=1, timeout=timeout_s)
            if ready:
                ready, _ = self.ray.wait(list(handles), num_returns=len(handles), timeout=0)
        except Exception as exc:
            raise ClusterLostError(f"lost the Ray cluster: {_first_line(exc)}") from None
        return list(ready)

    def end(self, handle: Any) -> TaskEnd:
        ray = self.ray
        try:
            payload = ray.get(handle)
        except self._cancelled as exc:
            return TaskEnd(kind="cancelled", message=_first_line(exc))
        except self._oom as exc:
            return TaskEnd(
                kind="oom",
                message="Ray's memory monitor ended the point (node memory above its threshold): "
                + _first_line(exc),
            )
        except self._node_lost as exc:
            message = f"{type(exc).__name__}: {_first_line(exc)}"
            return TaskEnd(kind="lost", message=message, node_lost=True)
        except self._lost as exc:
            return TaskEnd(kind="lost", message=f"{type(exc).__name__}: {_first_line(exc)}")
        except ray.exceptions.RayTaskError as exc:
            cause = getattr(exc, "cause", None) or exc
            if isinstance(cause, PlmprofError):
                return TaskEnd(kind="refused", message=str(cause))
            return TaskEnd(kind="error", message=f"{type(cause).__name__}: {_first_line(cause)}")
        except ray.exceptions.RayError as exc:
            return TaskEnd(kind="error", message=f"{type(exc).__name__}: {_first_line(exc)}")
        data = json.loads(zlib.decompress(payload).decode("utf-8"))
        return TaskEnd(result=Result.from_dict(data))

    def cancel(self, handle: Any) -> None:
        try:
            self.ray.cancel(handle, force=True)
        except Exception as exc:
            raise ClusterLostError(f"lost the Ray cluster: {_first_line(exc)}") from None


@contextmanager
def ray_executor(
    address: str | None,
    *,
    exclusive: bool = True,
    point_timeout_s: float | None = None,
    runner: Runner = session_runner,
) -> Iterator[ClusterExecutor]:
    """A sweep executor on the Ray cluster at ``address`` (``auto``, HOST:PORT, or None for a
    new Ray on this machine), connected for the ``with`` block (a clear error when it cannot
    be reached); the connection ends with the block when this opened it."""
    ray, owned = connect(address)
    try:
        backend = RayBackend(ray, runner, exclusive=exclusive)
        yield ClusterExecutor(backend, exclusive=exclusive, point_timeout_s=point_timeout_s)
    finally:
        if owned:
            ray.shutdown()
