"""``kchaos import``: the topology of a cluster's nodes (and manifests), as data with its
comments, written by the one YAML writer and loaded back before anything is written: a
problem is told against the input file and line the value came from."""

from __future__ import annotations

from pathlib import Path

from ..errors import KchaosUsageError, TopologyError
from ..topology import load_topology_text
from ..topology.yaml_writer import Note
from .manifest_files import read_manifests
from .manifests import Imported, workloads_from
from .node_topology import WORKLOADS_TODO_COMMENT, topology_document
from .nodes import read_nodes
from .origin import Document, blame


def add_workloads(doc: Document, imported: Imported) -> None:
    """The manifests' workloads as the document's ``workloads`` section, their origins with them."""
    if not imported.entries:
        doc.footer = list(WORKLOADS_TODO_COMMENT) + doc.footer
        return
    skipped = ", ".join(f"{n} {k}" for k, n in sorted(imported.skipped.items()))
    doc.data["workloads"] = Note(imported.entries, above=("",),
                                 after=f"skipped (not workloads kchaos models): {skipped}" if skipped else "")
    for i, origins in enumerate(imported.origins):
        for key, origin in origins.items():
            doc.origins[("workloads", i) + key] = origin


def checked_text(doc: Document, first_input: str) -> str:
    """The document's YAML, loaded as kchaos loads a topology: a problem is blamed on the input."""
    text = doc.text()
    try:
        load_topology_text(text, filename="<import>")
    except TopologyError as err:
        raise KchaosUsageError(blame(err.problems, doc.origins, first_input)) from None
    return text


def import_topology(nodes_files: list[str] | str, manifests: tuple[str, ...] = (), rack_label: str | None = None,
                    host_label: str | None = None, volume_scope: str = "datacenter", name: str = "imported",
                    zone_label: str | None = None, region_label: str | None = None) -> tuple[str, int, list[str]]:
    """The topology file's text, the number of nodes read, and the warnings about what was left out."""
    files = [nodes_files] if isinstance(nodes_files, str) else list(nodes_files)
    read = read_nodes(files, rack_label, host_label, zone_label, region_label)
    source = ", ".join(Path(f).name for f in files)
    doc = topology_document(read.nodes, name, source, rack_label, host_label)
    imported = Imported()
    if manifests:
        runs = sum(1 for n in read.nodes if not n.control_plane or n.runs_workloads)
        imported = workloads_from(read_manifests(list(manifests)), rack_label, host_label, volume_scope, runs)
    add_workloads(doc, imported)
    return checked_text(doc, files[0]), len(read.nodes), read.warnings + imported.warnings
