//! Per-synapse weights of the plastic projections, in the SONATA edges layout (`weights.h5`),
//! readable by h5py, libsonata (`EdgeStorage`) and bmtk.
//!
//! Layout: the edge files of the SONATA developer guide (v0.1), as libsonata reads them
//! (`.ci/check_sonata.py` checks every file of the test run), one edge population per plastic
//! projection:
//!
//! ```text
//! /                          attributes magic = 0x0A7A (uint32), version = [0, 1] (uint32[2])
//! /edges/<projection>
//!     source_node_id         uint64[N], attribute node_population = presynaptic population
//!     target_node_id         uint64[N], attribute node_population = postsynaptic population
//!     edge_type_id           int64[N]   the projection's index among the network's projections
//!     edge_group_id          uint32[N]  all 0
//!     edge_group_index       uint64[N]  0..N
//!     0/syn_weight_initial   float32[N] weights when the network was built
//!     0/syn_weight_epoch_<e> float32[N] after training epoch e (at each interim test of `learn`)
//!     0/syn_weight           float32[N] at the end of the run (also when it was interrupted)
//! ```
//!
//! Edges are sorted by target and then source node id. Weights are in units of the target
//! compartment's leak conductance, as in the experiment files. The topology is written once; a
//! snapshot costs one float per synapse in memory while it is written.

use std::path::{Path, PathBuf};

use hdf5::{File, Group, H5Type};

use super::h5::{h5_err, write_str_attr};
use super::sonata;
use crate::engine::network::Network;
use crate::{Error, Real, Result};

/// Name of the final weights' dataset: SONATA's standard synaptic-weight attribute.
pub const FINAL: &str = "syn_weight";
/// Name of the weights at build time.
pub const INITIAL: &str = "syn_weight_initial";

/// Prefix of the snapshots taken after training epochs.
const EPOCH_PREFIX: &str = "syn_weight_epoch_";

/// Name of the snapshot taken after training epoch `epoch`.
pub fn epoch_snapshot(epoch: u64) -> String {
    format!("{EPOCH_PREFIX}{epoch}")
}

/// Where snapshot `name` falls in a run: 0 as built, the epoch after an epoch, `u64::MAX` at
/// the end; `None` for a dataset that is not a snapshot.
fn snapshot_order(name: &str) -> Option<u64> {
    match name {
        INITIAL => Some(0),
        FINAL => Some(u64::MAX),
        _ => name.strip_prefix(EPOCH_PREFIX)?.parse().ok(),
    }
}

/// A short label for snapshot `name`: "initial", "epoch 5" or "final".
pub fn snapshot_label(name: &str) -> String {
    match snapshot_order(name) {
        Some(0) if name == INITIAL => "initial".into(),
        Some(u64::MAX) => "final".into(),
        Some(epoch) => format!("epoch {epoch}"),
        None => name.into(),
    }
}

/// The weight file of a run: one SONATA edge population per plastic projection.
pub struct WeightFile {
    path: PathBuf,
    file: File,
    /// (projection index, its attribute group `0`).
    groups: Vec<(usize, Group)>,
}

impl WeightFile {
    /// Creates `path` with the topology of every plastic projection of `net` and its current
    /// weights as [`INITIAL`]; `Ok(None)` (and no file) when no projection is plastic.
    pub fn create(path: &Path, net: &Network) -> Result<Option<Self>> {
        let plastic: Vec<usize> = (0..net.projections.len())
            .filter(|&k| net.projections[k].plastic.is_some())
            .collect();
        if plastic.is_empty() {
            return Ok(None);
        }
        let err = h5_err(path);
        let file = sonata::create_file(path)?;
        let edges = file.create_group("edges").map_err(&err)?;
        let mut groups = Vec::with_capacity(plastic.len());
        for k in plastic {
            let spec = &net.projections[k].spec;
            let group = edges.create_group(&spec.name).map_err(&err)?;
            let (mut sources, mut targets) = (Vec::new(), Vec::new());
            for (j, i, _) in net.plastic_synapses(k).into_iter().flatten() {
                sources.push(j as u64);
                targets.push(i as u64);
            }
            let n = sources.len();
            for (name, ids, pop) in [
                ("source_node_id", &sources, spec.pre),
                ("target_node_id", &targets, spec.post),
            ] {
                let ds = write_column(&group, name, ids)?;
                write_str_attr(&ds, "node_population", &net.populations[pop].name)?;
            }
            write_column(&group, "edge_type_id", &vec![k as i64; n])?;
            write_column(&group, "edge_group_id", &vec![0u32; n])?;
            write_column(
                &group,
                "edge_group_index",
                &(0..n as u64).collect::<Vec<_>>(),
            )?;
            let attrs = group.create_group("0").map_err(&err)?;
            groups.push((k, attrs));
        }
        let mut w = WeightFile {
            path: path.to_owned(),
            file,
            groups,
        };
        w.snapshot(net, INITIAL)?;
        Ok(Some(w))
    }

    /// Writes the current weights of every plastic projection as dataset `name` of its group
    /// `0`, and flushes the file so that the snapshot survives a crash.
    pub fn snapshot(&mut self, net: &Network, name: &str) -> Result<()> {
        for (k, group) in &self.groups {
            let w: Vec<Real> = net
                .plastic_synapses(*k)
                .into_iter()
                .flatten()
                .map(|(_, _, w)| w)
                .collect();
            let ds = write_column(group, name, &w)?;
            write_str_attr(&ds, "units", "leak conductance of the target compartment")?;
        }
        self.file.flush().map_err(h5_err(&self.path))
    }

    /// Writes the final weights ([`FINAL`]) and closes the file.
    pub fn close(mut self, net: &Network) -> Result<()> {
        self.snapshot(net, FINAL)?;
        let WeightFile { path, file, groups } = self;
        // The groups are handles into the file: closed first.
        drop(groups);
        file.close().map_err(h5_err(&path))
    }
}

/// The weight snapshots of one projection in a weight file, in time order: initial, after each
/// epoch, final.
pub struct Snapshots {
    pub projection: String,
    /// (dataset name, weights).
    pub weights: Vec<(String, Vec<Real>)>,
}

/// Opens the weight file at `path` and its edge populations by name (the file is returned so
/// that it outlives the groups).
fn open_populations(path: &Path) -> Result<(File, Vec<(String, Group)>)> {
    let err = h5_err(path);
    let file = File::open(path).map_err(&err)?;
    let edges = file
        .group("edges")
        .map_err(|_| Error::hdf5(path, "no /edges group: not a weight file"))?;
    let groups = edges
        .member_names()
        .map_err(&err)?
        .into_iter()
        .map(|name| {
            let g = edges.group(&name).map_err(&err)?;
            Ok((name, g))
        })
        .collect::<Result<_>>()?;
    Ok((file, groups))
}

/// Reads every edge population of the weight file at `path` with its snapshots in time order.
pub fn read(path: &Path) -> Result<Vec<Snapshots>> {
    let err = h5_err(path);
    let (_file, populations) = open_populations(path)?;
    let mut out = Vec::new();
    for (projection, group) in populations {
        let group = group.group("0").map_err(&err)?;
        let mut names: Vec<(u64, String)> = group
            .member_names()
            .map_err(&err)?
            .into_iter()
            .filter_map(|n| Some((snapshot_order(&n)?, n)))
            .collect();
        names.sort();
        let weights = names
            .into_iter()
            .map(|(_, n)| {
                let w = group.dataset(&n).and_then(|d| d.read_raw::<Real>());
                w.map(|w| (n, w)).map_err(&err)
            })
            .collect::<Result<_>>()?;
        out.push(Snapshots {
            projection,
            weights,
        });
    }
    Ok(out)
}

/// One snapshot of one edge population of a weight file.
#[derive(Clone, Debug)]
pub struct EdgeWeights {
    pub projection: String,
    /// Presynaptic and postsynaptic node id of each synapse.
    pub sources: Vec<u64>,
    pub targets: Vec<u64>,
    pub weights: Vec<Real>,
}

/// Reads snapshot `name` (e.g. [`FINAL`]) of every edge population of the weight file at `path`;
/// the error says which population lacks it or is malformed.
pub fn read_snapshot(path: &Path, name: &str) -> Result<Vec<EdgeWeights>> {
    let err = h5_err(path);
    let (_file, populations) = open_populations(path)?;
    let mut out = Vec::new();
    for (projection, group) in populations {
        let read = |ds: &str| -> Result<hdf5::Dataset> {
            group.dataset(ds).map_err(|_| {
                let have = group
                    .group("0")
                    .and_then(|g| g.member_names())
                    .map(|v| v.join(", "))
                    .unwrap_or_default();
                Error::hdf5(
                    path,
                    format!("edge population `{projection}` has no `{ds}` (snapshots: {have})"),
                )
            })
        };
        let sources = read("source_node_id")?.read_raw::<u64>().map_err(&err)?;
        let targets = read("target_node_id")?.read_raw::<u64>().map_err(&err)?;
        let weights = read(&format!("0/{name}"))?
            .read_raw::<Real>()
            .map_err(&err)?;
        if sources.len() != targets.len() || sources.len() != weights.len() {
            return Err(Error::hdf5(
                path,
                format!(
                    "edge population `{projection}`: node id and weight columns differ in length"
                ),
            ));
        }
        out.push(EdgeWeights {
            projection,
            sources,
            targets,
            weights,
        });
    }
    Ok(out)
}

/// Writes `values` as the 1-D dataset `name` of `group` (replacing nothing: names are unique).
fn write_column<T: H5Type>(group: &Group, name: &str, values: &[T]) -> Result<hdf5::Dataset> {
    group
        .new_dataset_builder()
        .with_data(values)
        .create(name)
        .map_err(|e| Error::hdf5(Path::new(&group.filename()), format!("`{name}`: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_are_named_ordered_and_labelled_from_one_scheme() {
        assert_eq!(epoch_snapshot(25), "syn_weight_epoch_25");
        let names = [
            FINAL,
            &epoch_snapshot(100),
            INITIAL,
            &epoch_snapshot(25),
            "units",
        ];
        let mut ordered: Vec<(u64, &str)> = names
            .iter()
            .filter_map(|n| Some((snapshot_order(n)?, *n)))
            .collect();
        ordered.sort();
        let labels: Vec<String> = ordered.iter().map(|(_, n)| snapshot_label(n)).collect();
        assert_eq!(labels, ["initial", "epoch 25", "epoch 100", "final"]);
        assert_eq!(snapshot_label(&epoch_snapshot(0)), "epoch 0");
    }
}
