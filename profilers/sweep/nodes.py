"""The nodes of a cluster as a sweep sees them: what each offers, what a point asks of a node, and
which node may take a point now.

The driver picks the node of every point and pins the point to it. With exclusive nodes (the
default) a node runs one point at a time and the point is given all of the node's CPUs: two points
timed side by side on one host would corrupt each other's figures. Otherwise a point takes one CPU
(and its accelerators) and several may share a node.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engines.spec import RunSpec

# The resource a node reports for each accelerator family (Ray's names: ``GPU`` is built in,
# ``neuron_cores`` is Ray's Neuron accelerator, ``HPU`` Ray's Gaudi accelerator).
FAMILY_RESOURCE = {"cuda": "GPU", "neuron": "neuron_cores", "hpu": "HPU"}
FAMILY_WORDS = {"cpu": "CPUs", "cuda": "GPUs", "neuron": "NeuronCores", "hpu": "Gaudi HPUs"}
# Variables the cluster sets for a task to say which accelerators it was given.
VISIBILITY_VARIABLES = ("CUDA_VISIBLE_DEVICES", "NEURON_RT_VISIBLE_CORES", "HABANA_VISIBLE_MODULES")


@dataclass(frozen=True)
class NodeInfo:
    """A node as the cluster reports it: ``resources`` are its totals (``CPU``, ``GPU``…)."""

    node_id: str
    host: str
    address: str = ""
    resources: Mapping[str, float] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.host} (node {self.node_id[:8]})"

    def to_dict(self) -> dict[str, Any]:
        return {"host": self.host, "ray_node_id": self.node_id, "address": self.address}


def device_family(spec: RunSpec) -> str:
    """``cpu``, ``cuda``, ``neuron`` or ``hpu``: the accelerator family the point's workers use."""
    families = [d.partition(":")[0] for d in spec.worker_devices()]
    return next((f for f in families if f != "cpu"), "cpu")


def devices_needed(spec: RunSpec, node: NodeInfo | None = None) -> int:
    """How many of its family's devices a point takes: one per worker on plain ``neuron``, the
    highest index plus one for numbered devices (``cuda:1`` needs two visible), else one. Neuron
    data parallel takes every NeuronCore of the node."""
    family = device_family(spec)
    if family == "cpu":
        return 0
    if family == "neuron" and spec.neuron_data_parallel and node is not None:
        return max(1, int(node.resources.get(FAMILY_RESOURCE[family], 1)))
    devices = [d for d in spec.worker_devices() if d.startswith(family)]
    numbered = [int(d.partition(":")[2]) + 1 for d in devices if d.partition(":")[2].isdigit()]
    plain = sum(":" not in d for d in devices)
    return max([*numbered, plain if family == "neuron" else min(plain, 1), 1])


class NodePlanner:
    """Which alive node may take a point now, and the resources the point asks of it."""

    def __init__(self, nodes: Sequence[NodeInfo], *, exclusive: bool = True) -> None:
        self.exclusive = exclusive
        self.nodes = {node.node_id: node for node in nodes}
        self.free = {node.node_id: dict(node.resources) for node in nodes}
        self.running = {node.node_id: 0 for node in nodes}
        self.dead: set[str] = set()

    def request(self, spec: RunSpec, node: NodeInfo) -> dict[str, float]:
        """The resources ``spec`` takes on ``node`` (``CPU`` and its accelerator, by name)."""
        need = {"CPU": float(node.resources.get("CPU", 0)) if self.exclusive else 1.0}
        family = device_family(spec)
        if family in FAMILY_RESOURCE:
            need[FAMILY_RESOURCE[family]] = float(devices_needed(spec, node))
        return need

    def _fits(self, spec: RunSpec, node: NodeInfo, free: Mapping[str, float]) -> bool:
        if node.resources.get("CPU", 0) <= 0:
            return False  # a node declared with no CPUs (a head node kept free) runs no point
        need = self.request(spec, node)
        return all(free.get(name, 0.0) >= amount for name, amount in need.items())

    def missing(self, spec: RunSpec, avoid: Collection[str] = ()) -> str | None:
        """Why no alive node (other than those in ``avoid``) could ever run ``spec`` (None when
        one can)."""
        family = device_family(spec)
        alive = [
            n
            for n in self.nodes.values()
            if n.node_id not in self.dead | set(avoid) and n.resources.get("CPU", 0) > 0
        ]
        if any(self._fits(spec, n, n.resources) for n in alive):
            return None
        resource = FAMILY_RESOURCE.get(family, "CPU")
        offered = sorted({int(n.resources.get(resource, 0)) for n in alive} - {0})
        other = " other" if avoid else ""
        if not offered:
            gone = " left" if self.dead or avoid else ""
            return f"no{other} node of the cluster has {FAMILY_WORDS[family]}{gone}"
        most = max(offered)
        return (
            f"needs {devices_needed(spec)} {FAMILY_WORDS[family]} on one node; the most any"
            f"{other} node has is {most}"
        )

    def pick(self, spec: RunSpec, avoid: Collection[str] = ()) -> NodeInfo | None:
        """A node that can take ``spec`` now, none of those in ``avoid``. CPU points go to nodes
        without accelerators first, so they do not hold an accelerator node that an accelerator
        point is waiting for."""
        candidates = [
            n
            for n in self.nodes.values()
            if n.node_id not in self.dead
            and n.node_id not in avoid
            and not (self.exclusive and self.running[n.node_id])
            and self._fits(spec, n, self.free[n.node_id])
        ]
        candidates.sort(
            key=lambda n: (
                sum(n.resources.get(r, 0) > 0 for r in FAMILY_RESOURCE.values()),
                n.host,
                n.node_id,
            )
        )
        return candidates[0] if candidates else None

    def take(self, node: NodeInfo, need: Mapping[str, float]) -> None:
        self.running[node.node_id] += 1
        free = self.free[node.node_id]
        for name, amount in need.items():
            free[name] = free.get(name, 0.0) - amount

    def release(self, node: NodeInfo, need: Mapping[str, float]) -> None:
        self.running[node.node_id] -= 1
        free = self.free[node.node_id]
        for name, amount in need.items():
            free[name] = free.get(name, 0.0) + amount

    def mark_dead(self, node_ids: Collection[str]) -> None:
        self.dead.update(node_ids)
