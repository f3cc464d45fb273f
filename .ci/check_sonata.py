"""Checks SONATA files written by burstccn with libsonata against what h5py sees.

Every file: the root attributes are magic = 0x0A7A and version = [0, 1], and it holds
/spikes, /edges or both.
Spike files: for every population under /spikes, libsonata lists it, reads as many spikes as
the h5py datasets hold, with identical node ids and timestamps, reports time units "ms" and
sorting "by_time".
Edge files (weights.h5): for every population under /edges, libsonata lists it with the size,
source and target node populations, node ids and every attribute of group 0 that h5py reads.
Exits 1 with one line per failure, 0 when everything matches.
"""

import sys
from importlib.metadata import version

import h5py
import libsonata
import numpy as np


def check(path, failures):
    """Appends a message to `failures` for every mismatch found in the file at `path`."""
    with h5py.File(path, "r") as f:
        magic = f.attrs.get("magic")
        if magic is None or int(magic) != 0x0A7A:
            failures.append(f"root attribute magic is {magic!r}, expected 0x0A7A")
        version = f.attrs.get("version")
        if version is None or list(np.asarray(version).ravel()) != [0, 1]:
            failures.append(f"root attribute version is {version!r}, expected [0, 1]")
        has_spikes, has_edges = "spikes" in f, "edges" in f
    if not (has_spikes or has_edges):
        failures.append("neither a /spikes nor an /edges group")
    if has_spikes:
        check_spikes(path, failures)
    if has_edges:
        check_edges(path, failures)


def shared_populations(kind, listed, expected, failures):
    """The populations that libsonata lists (`listed`) and h5py found (`expected`), sorted;
    a failure if the two lists differ."""
    names = sorted(listed)
    if names != sorted(expected):
        failures.append(f"libsonata lists {kind} populations {names}, h5py {sorted(expected)}")
    return [name for name in names if name in expected]


def check_spikes(path, failures):
    """The /spikes populations of `path`, read by libsonata and by h5py."""
    with h5py.File(path, "r") as f:
        expected = {}
        for name, group in f["spikes"].items():
            expected[name] = (group["node_ids"][()], group["timestamps"][()])
            if "sorting" not in group.attrs:
                failures.append(f"population {name}: no sorting attribute")
            elif h5py.check_enum_dtype(group.attrs.get_id("sorting").dtype) is None:
                failures.append(f"population {name}: sorting attribute is not an HDF5 enum")

    reader = libsonata.SpikeReader(path)
    for name in shared_populations("spike", reader.get_population_names(), expected, failures):
        pop = reader[name]
        arrays = pop.get_dict()
        node_ids, timestamps = expected[name]
        count = len(arrays["node_ids"])
        print(f"{name}: {count} spikes, sorting {pop.sorting}, units {pop.time_units}")
        if count != len(node_ids) or len(arrays["timestamps"]) != len(timestamps):
            failures.append(
                f"population {name}: libsonata reads {count} spikes, h5py {len(node_ids)}"
            )
        elif not (
            np.array_equal(arrays["node_ids"], node_ids)
            and np.array_equal(arrays["timestamps"], timestamps)
        ):
            failures.append(f"population {name}: libsonata and h5py read different spikes")
        if len(pop.get()) != len(node_ids):
            failures.append(f"population {name}: libsonata get() returns a different count")
        if pop.sorting != "by_time":
            failures.append(f"population {name}: sorting is {pop.sorting}, expected by_time")
        if pop.time_units != "ms":
            failures.append(f"population {name}: time units are {pop.time_units!r}, expected ms")


def check_edges(path, failures):
    """The /edges populations of `path`, read by libsonata and by h5py."""
    expected = {}
    with h5py.File(path, "r") as f:
        for name, group in f["edges"].items():
            expected[name] = {
                "source": group["source_node_id"][()],
                "target": group["target_node_id"][()],
                "source_population": group["source_node_id"].attrs.get("node_population"),
                "target_population": group["target_node_id"].attrs.get("node_population"),
                "attributes": {k: v[()] for k, v in group["0"].items()},
            }
    storage = libsonata.EdgeStorage(path)
    for name in shared_populations("edge", storage.population_names, expected, failures):
        want = expected[name]
        pop = storage.open_population(name)
        every = libsonata.Selection([[0, pop.size]])
        print(f"{name}: {pop.size} edges {pop.source} -> {pop.target}, {sorted(pop.attribute_names)}")
        if pop.size != len(want["source"]):
            failures.append(f"edges {name}: libsonata reads {pop.size} edges, h5py {len(want['source'])}")
            continue
        for side in ("source", "target"):
            if getattr(pop, side) != want[f"{side}_population"]:
                failures.append(f"edges {name}: {side} population {getattr(pop, side)!r}")
        if not np.array_equal(pop.source_nodes(every), want["source"]):
            failures.append(f"edges {name}: libsonata and h5py read different source ids")
        if not np.array_equal(pop.target_nodes(every), want["target"]):
            failures.append(f"edges {name}: libsonata and h5py read different target ids")
        if set(pop.attribute_names) != set(want["attributes"]):
            failures.append(f"edges {name}: libsonata lists attributes {sorted(pop.attribute_names)}")
            continue
        for attr, values in want["attributes"].items():
            if not np.array_equal(pop.get_attribute(attr, every), values):
                failures.append(f"edges {name}: libsonata and h5py read different {attr}")


def main():
    if len(sys.argv) < 2:
        print(f"usage: {sys.argv[0]} SONATA_FILE...", file=sys.stderr)
        return 2
    status = 0
    for path in sys.argv[1:]:
        failures = []
        try:
            check(path, failures)
        except Exception as e:  # libsonata and h5py raise several types; report any as a failure
            failures.append(f"{type(e).__name__}: {e}")
        if failures:
            for failure in failures:
                print(f"check_sonata: {path}: {failure}", file=sys.stderr)
            status = 1
            continue
        print(f"check_sonata: {path}: OK (libsonata {version('libsonata')}, h5py {h5py.__version__})")
    return status


if __name__ == "__main__":
    sys.exit(main())
