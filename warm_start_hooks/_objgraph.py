"""Object graphs: a checkpoint's saved objects, matched to a model as restore does.

Do not import this module directly; use `import warm_start_hooks` instead.

An object-based checkpoint (`tf.train.Checkpoint`, Keras 2 `save_weights`)
stores the graph of objects it was saved from: nodes, named edges between
them, and for each variable the tensor key of its value. `SavedGraph` is that
graph. `match` walks it together with a live model, edge name by edge name
from the root, exactly as `tf.train.Checkpoint.restore` binds objects: a
variable gets the tensor of the saved node it is reached at, whatever its
name. Variable names are not unique (every unnamed `tf.Variable` is
`Variable:0`), object paths are.
"""

from __future__ import annotations

import collections
import dataclasses
import heapq
from collections.abc import Container
from collections.abc import Iterable
from typing import Any

from warm_start_hooks import _variables

_VALUE = 'VARIABLE_VALUE'
# Lists that hold every variable of an object: a last resort for naming one.
_GENERIC = frozenset({'variables', 'trainable_variables', 'non_trainable_variables', 'weights'})


@dataclasses.dataclass
class SavedGraph:
    """The object graph of a checkpoint.

    Attributes:
      children: Per node, its named edges (local name -> child node), in saved order.
      keys: Node -> the tensor key of its value, for variable nodes.
      full_names: Node -> the variable's name when it was saved, where recorded.
      slots: Optimizer node -> (variable node, slot name, slot node) of its slot variables.
    """

    children: list[dict[str, int]]
    keys: dict[int, str]
    full_names: dict[int, str]
    slots: dict[int, list[tuple[int, str, int]]]

    @classmethod
    def parse(cls, data: bytes, known_keys: Container[str]) -> SavedGraph:
        """Parses a serialized `TrackableObjectGraph`; keys not in `known_keys` are left out."""
        from tensorflow.core.protobuf import trackable_object_graph_pb2

        proto = trackable_object_graph_pb2.TrackableObjectGraph.FromString(data)
        graph = cls([], {}, {}, {})
        for node_id, node in enumerate(proto.nodes):
            graph.children.append({c.local_name: c.node_id for c in node.children})
            for attr in node.attributes:
                if attr.name == _VALUE and attr.checkpoint_key in known_keys:
                    graph.keys[node_id] = attr.checkpoint_key
                    if attr.full_name:
                        graph.full_names[node_id] = attr.full_name
            for s in node.slot_variables:
                graph.slots.setdefault(node_id, []).append(
                    (s.original_variable_node_id, s.slot_name, s.slot_variable_node_id)
                )
        return graph

    @property
    def root_children(self) -> list[str]:
        """The names of the root's children (e.g. 'model', 'optimizer', 'save_counter')."""
        return list(self.children[0]) if self.children else []

    def node_at(self, path: str, start: int = 0) -> int | None:
        """The node that object path `path` ('model/layers/0/kernel') reaches, or None."""
        node = start
        for name in path.split('/') if path else ():
            child = self.children[node].get(name)
            if child is None:
                return None
            node = child
        return node

    def keys_by_full_name(self) -> dict[str, list[str]]:
        """Saved variable name -> every tensor key saved under it (names repeat)."""
        out: dict[str, list[str]] = {}
        for node, name in self.full_names.items():
            out.setdefault(name, []).append(self.keys[node])
        return out

    def display_paths(self) -> dict[str, str]:
        """Tensor key -> the object path a person would name it by.

        The saver keys a tensor by the first path it met, which may run through
        an optimizer's back-reference ('model/optimizer/_trainable_variables/0').
        The path shown is the best by, in order: not through an optimizer (so
        only slots show one), fewest steps, fewest private ('_x') steps, fewest
        generic lists (an optimizer's '_variables' holds every slot).
        """
        optimizers = self._optimizer_nodes()
        best: dict[int, str] = {}
        heap: list[tuple[tuple[int, int, int, int, str], int]] = [((0, 0, 0, 0, ''), 0)]
        while heap:
            (opt, depth, private, generic, path), node = heapq.heappop(heap)
            if node in best:
                continue
            best[node] = path
            through = opt + (node in optimizers)
            for name, child in self.children[node].items():
                if child not in best:
                    cost = (
                        through,
                        depth + 1,
                        private + name.startswith('_'),
                        generic + (name.strip('_') in _GENERIC),
                        f'{path}/{name}' if path else name,
                    )
                    heapq.heappush(heap, (cost, child))
        return {key: best[node] for node, key in self.keys.items() if node in best}

    def _optimizer_nodes(self) -> set[int]:
        """Nodes that are optimizers: they hold slots, step counters, or are named so."""
        out = set(self.slots)
        for edges in self.children:
            for name, child in edges.items():
                if 'optimizer' in name.lower():
                    out.add(child)
        for node, edges in enumerate(self.children):
            if '_iterations' in edges or ('iter' in edges and 'learning_rate' in edges):
                out.add(node)
        return out


def match(graph: SavedGraph, root: Any, variable_ids: Iterable[int]) -> dict[int, int]:
    """id(variable) -> saved node, for the variables below `root`, as restore binds them.

    The walk starts at the saved root, or at one of its children: a model
    saved with `save_weights` is the checkpoint's root, one saved with
    `tf.train.Checkpoint(model=...)` is its child 'model'. The start that binds
    most of `variable_ids` is used (the root on a tie).

    Args:
      graph: The checkpoint's object graph.
      root: The live object the variables were found in.
      variable_ids: ids of the variables (or `ShardedVariable`s) to find.

    Returns:
      The variables found, each with its saved node.
    """
    wanted = set(variable_ids)
    best: dict[int, int] = {}
    best_hits = -1
    for start in [0, *graph.children[0].values()] if graph.children else []:
        found = _match_from(graph, root, start)
        hits = len(wanted & found.keys())
        if hits > best_hits:
            best, best_hits = found, hits
        if hits == len(wanted):
            break
    return best


def _match_from(graph: SavedGraph, root: Any, start: int) -> dict[int, int]:
    """Breadth-first from (`root`, `start`): a saved node binds to the first object met there."""
    bound: dict[int, Any] = {start: root}
    found: dict[int, int] = {}
    queue = collections.deque([start])
    while queue:
        node = queue.popleft()
        live = _variables.trackable_children(bound[node])
        for name, child_node in graph.children[node].items():
            child = live.get(name)
            if child is None or child_node in bound:
                continue
            bound[child_node] = child
            if _variables.is_variable(child) or _variables.is_sharded(child):
                found.setdefault(id(child), child_node)
            else:
                queue.append(child_node)
    return found
