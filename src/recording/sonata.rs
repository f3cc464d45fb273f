//! Spike trains in the SONATA spike-report layout (HDF5), readable by h5py, libsonata and NEST
//! tools.
//!
//! Layout, from the SONATA developer guide (v0.1), sections "Common conventions › HDF5" (root
//! attributes) and "Output file formats › Spike file":
//!
//! ```text
//! /                      attributes magic = 0x0A7A (uint32), version = [0, 1] (uint32[2])
//! /spikes/<population>   attribute sorting: enum {none = 0, by_id = 1, by_time = 2} (uint8)
//!     timestamps         float64[N] spike times, attribute units = "ms"
//!     node_ids           uint64[N] node ids local to the population
//! ```
//!
//! The spec makes `sorting` optional (no order assumed when absent) and only says `units` is a
//! string. libsonata (`SpikeReader`) reads `sorting` as an HDF5 enum, matched by member name,
//! and fails on a string; it also requires `units`. The writer therefore always writes both;
//! the reader accepts files without them (ms, none).

use std::path::{Path, PathBuf};

use hdf5::types::TypeDescriptor;
use hdf5::{File, Group, H5Type};

use super::h5::{
    h5_err, read_str_attr, write_array_attr, write_scalar_attr, write_str_attr, AppendColumn,
};
use crate::{Error, Result};

/// Spikes per HDF5 chunk and per memory buffer of each dataset (64 Ki). One buffer of
/// timestamps and one of node ids per population: 1 MiB, whatever the length of the run.
pub const SPIKE_CHUNK: usize = 64 * 1024;

/// Value of the root `magic` attribute of SONATA files.
pub const SONATA_MAGIC: u32 = 0x0A7A;

/// Value of the root `version` attribute (major, minor).
pub const SONATA_VERSION: [u32; 2] = [0, 1];

/// Creates (or truncates) a SONATA file at `path`: an HDF5 file with the root attributes
/// `magic` and `version`.
pub fn create_file(path: &Path) -> Result<File> {
    let file = File::create(path).map_err(h5_err(path))?;
    write_scalar_attr(&file, "magic", &SONATA_MAGIC)?;
    write_array_attr(&file, "version", &SONATA_VERSION)?;
    Ok(file)
}

/// How the spikes of a population are ordered: the `sorting` attribute of a SONATA population
/// group, an HDF5 enum with base type uint8 and these names and values.
#[derive(H5Type, Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Sorting {
    /// No particular order.
    #[hdf5(rename = "none")]
    None = 0,
    /// Sorted by node id.
    #[hdf5(rename = "by_id")]
    ById = 1,
    /// Sorted by timestamp (non-decreasing).
    #[hdf5(rename = "by_time")]
    ByTime = 2,
}

impl Sorting {
    /// The enum member name used in SONATA files ("none", "by_id", "by_time").
    pub fn as_str(self) -> &'static str {
        match self {
            Sorting::None => "none",
            Sorting::ById => "by_id",
            Sorting::ByTime => "by_time",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        match name {
            "none" => Some(Sorting::None),
            "by_id" => Some(Sorting::ById),
            "by_time" => Some(Sorting::ByTime),
            _ => None,
        }
    }
}

impl std::fmt::Display for Sorting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One population being written.
struct PopulationWriter {
    name: String,
    group: Group,
    timestamps: AppendColumn<f64>,
    node_ids: AppendColumn<u64>,
    /// Largest timestamp appended so far (ms), to detect out-of-order appends.
    last_ms: f64,
    sorting: Sorting,
}

/// Streams spikes of several populations to a SONATA spike file with bounded memory.
///
/// Spikes are buffered and written one chunk ([`SPIKE_CHUNK`]) at a time. [`close`] writes the
/// rest and closes the file; dropping the writer does the same on a best-effort basis, so an
/// interrupted run still leaves a valid file with every appended spike.
///
/// [`close`]: SonataWriter::close
pub struct SonataWriter {
    path: PathBuf,
    file: Option<File>,
    populations: Vec<PopulationWriter>,
}

impl SonataWriter {
    /// Creates (or truncates) the spike file at `path` with one empty population group
    /// `/spikes/<name>` per entry of `populations`, in that order (the index is the
    /// `population` argument of [`append`](Self::append)). Names must be unique, non-empty and
    /// free of `/`.
    pub fn create(path: &Path, populations: &[&str]) -> Result<Self> {
        for (i, name) in populations.iter().enumerate() {
            if name.is_empty() || name.contains('/') || name == &"." {
                return Err(Error::hdf5(
                    path,
                    format!("invalid population name `{name}`: it must be non-empty without `/`"),
                ));
            }
            if populations[..i].contains(name) {
                return Err(Error::hdf5(
                    path,
                    format!("population `{name}` is listed twice"),
                ));
            }
        }
        let err = h5_err(path);
        let file = create_file(path)?;
        let spikes = file.create_group("spikes").map_err(&err)?;
        let mut writers = Vec::with_capacity(populations.len());
        for name in populations {
            let group = spikes.create_group(name).map_err(&err)?;
            let timestamps = AppendColumn::create(&group, "timestamps", SPIKE_CHUNK)?;
            write_str_attr(timestamps.dataset(), "units", "ms")?;
            let node_ids = AppendColumn::create(&group, "node_ids", SPIKE_CHUNK)?;
            // An empty population is trivially sorted by time.
            write_scalar_attr(&group, "sorting", &Sorting::ByTime)?;
            writers.push(PopulationWriter {
                name: (*name).to_owned(),
                group,
                timestamps,
                node_ids,
                last_ms: f64::NEG_INFINITY,
                sorting: Sorting::ByTime,
            });
        }
        Ok(Self {
            path: path.to_owned(),
            file: Some(file),
            populations: writers,
        })
    }

    /// The path of the file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of spikes appended to population `population` (by index) so far.
    pub fn len(&self, population: usize) -> Option<usize> {
        self.populations.get(population).map(|p| p.timestamps.len())
    }

    /// Appends spikes to population number `population` (index into the names given to
    /// [`create`](Self::create)): `timestamps_ms[i]` (ms, finite) is a spike of node
    /// `node_ids[i]`.
    ///
    /// Spikes are expected in non-decreasing time order across calls; if a timestamp is smaller
    /// than one appended before, the population's `sorting` attribute becomes `none`. On error
    /// nothing is appended.
    pub fn append(
        &mut self,
        population: usize,
        timestamps_ms: &[f64],
        node_ids: &[u64],
    ) -> Result<()> {
        let count = self.populations.len();
        let Some(pop) = self.populations.get_mut(population) else {
            return Err(Error::hdf5(
                &self.path,
                format!("population index {population} out of range (the file has {count})"),
            ));
        };
        if timestamps_ms.len() != node_ids.len() {
            return Err(Error::hdf5(
                &self.path,
                format!(
                    "population `{}`: {} timestamps but {} node ids",
                    pop.name,
                    timestamps_ms.len(),
                    node_ids.len()
                ),
            ));
        }
        if let Some(bad) = timestamps_ms.iter().find(|t| !t.is_finite()) {
            return Err(Error::hdf5(
                &self.path,
                format!(
                    "population `{}`: spike time {bad} ms is not finite",
                    pop.name
                ),
            ));
        }
        let mut last = pop.last_ms;
        let mut in_order = true;
        for &t in timestamps_ms {
            in_order &= t >= last;
            last = last.max(t);
        }
        pop.last_ms = last;
        if !in_order && pop.sorting != Sorting::None {
            // Written at once so that a file left by an interrupted run never claims an order
            // its data lacks.
            write_scalar_attr(&pop.group, "sorting", &Sorting::None)?;
            pop.sorting = Sorting::None;
        }
        pop.timestamps.extend(timestamps_ms)?;
        pop.node_ids.extend(node_ids)
    }

    /// Writes all buffered spikes and flushes the file to disk.
    pub fn flush(&mut self) -> Result<()> {
        for pop in &mut self.populations {
            pop.timestamps.flush()?;
            pop.node_ids.flush()?;
        }
        if let Some(file) = &self.file {
            file.flush().map_err(h5_err(&self.path))?;
        }
        Ok(())
    }

    /// Writes all buffered spikes and closes the file.
    pub fn close(mut self) -> Result<()> {
        self.finish()
    }

    fn finish(&mut self) -> Result<()> {
        let result = self.flush();
        // Datasets and groups must be released before the file, or HDF5 keeps it open.
        self.populations.clear();
        match self.file.take() {
            Some(file) => result.and(file.close().map_err(h5_err(&self.path))),
            None => result,
        }
    }
}

impl Drop for SonataWriter {
    fn drop(&mut self) {
        // Errors cannot be returned from `drop`; `close` is the way to see them.
        let _ = self.finish();
    }
}

/// What the reader knows about one population of a spike file.
#[derive(Clone, Debug, PartialEq)]
pub struct PopulationInfo {
    /// Population name (the group name under `/spikes`).
    pub name: String,
    /// The `sorting` attribute (`none` if absent).
    pub sorting: Sorting,
    /// Number of spikes.
    pub len: usize,
    /// Factor converting the stored timestamps to ms (1 for "ms", 1000 for "s").
    ms_per_unit: f64,
}

/// Reads SONATA spike files (written here or by other tools) population by population, in
/// chunks so that files larger than memory can be processed.
pub struct SonataReader {
    path: PathBuf,
    file: File,
    populations: Vec<PopulationInfo>,
}

impl SonataReader {
    /// Opens and validates a spike file: `/spikes` must exist and every population group in it
    /// must hold 1-D `timestamps` and `node_ids` datasets of equal length. The `units` of
    /// timestamps may be "ms" (assumed when absent) or "s"; a missing `sorting` means none.
    pub fn open(path: &Path) -> Result<Self> {
        if !path.exists() {
            return Err(Error::io(
                path,
                std::io::Error::new(std::io::ErrorKind::NotFound, "spike file not found"),
            ));
        }
        let parse = |message: String| Error::Parse {
            file: path.display().to_string(),
            message,
        };
        let file =
            File::open(path).map_err(|e| parse(format!("not a readable HDF5 file ({e})")))?;
        let spikes = file
            .group("spikes")
            .map_err(|_| parse("no group /spikes: not a SONATA spike file".into()))?;
        let mut names = spikes.member_names().map_err(h5_err(path))?;
        names.sort();
        let mut populations = Vec::with_capacity(names.len());
        for name in names {
            let group = spikes
                .group(&name)
                .map_err(|_| parse(format!("/spikes/{name} is not a population group")))?;
            populations.push(Self::population_info(path, &group, name)?);
        }
        Ok(Self {
            path: path.to_owned(),
            file,
            populations,
        })
    }

    fn population_info(path: &Path, group: &Group, name: String) -> Result<PopulationInfo> {
        let parse = |message: String| Error::Parse {
            file: path.display().to_string(),
            message: format!("population `{name}`: {message}"),
        };
        let mut lens = [0usize; 2];
        for (len, dataset) in lens.iter_mut().zip(["timestamps", "node_ids"]) {
            let ds = group
                .dataset(dataset)
                .map_err(|_| parse(format!("missing dataset `{dataset}`")))?;
            match ds.shape().as_slice() {
                [n] => *len = *n,
                shape => {
                    return Err(parse(format!(
                        "dataset `{dataset}` should be 1-D, has shape {shape:?}"
                    )))
                }
            }
        }
        if lens[0] != lens[1] {
            return Err(parse(format!(
                "{} timestamps but {} node_ids",
                lens[0], lens[1]
            )));
        }
        let timestamps = group.dataset("timestamps").map_err(h5_err(path))?;
        let ms_per_unit = match read_str_attr(&timestamps, "units")?
            .as_deref()
            .map(str::trim)
        {
            None | Some("ms") | Some("millisecond") | Some("milliseconds") => 1.0,
            Some("s") | Some("second") | Some("seconds") => 1000.0,
            Some(other) => {
                return Err(parse(format!(
                    "timestamps have units \"{other}\"; expected \"ms\" or \"s\""
                )))
            }
        };
        let sorting = read_sorting(group).map_err(parse)?;
        Ok(PopulationInfo {
            name,
            sorting,
            len: lens[0],
            ms_per_unit,
        })
    }

    /// The path of the file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The populations of the file, sorted by name.
    pub fn populations(&self) -> &[PopulationInfo] {
        &self.populations
    }

    /// The population called `name`; the error lists the known ones.
    pub fn population(&self, name: &str) -> Result<&PopulationInfo> {
        self.populations
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| Error::Parse {
                file: self.path.display().to_string(),
                message: format!(
                    "no spike population `{name}`; the file has: {}",
                    if self.populations.is_empty() {
                        "none".to_owned()
                    } else {
                        self.populations
                            .iter()
                            .map(|p| p.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                ),
            })
    }

    /// The `sorting` of population `name`.
    pub fn sorting(&self, name: &str) -> Result<Sorting> {
        self.population(name).map(|p| p.sorting)
    }

    /// The number of spikes of population `name`.
    pub fn len(&self, name: &str) -> Result<usize> {
        self.population(name).map(|p| p.len)
    }

    /// Calls `f(timestamps_ms, node_ids)` on consecutive chunks of at most `chunk_len` spikes
    /// (at least 1) of population `name`, in file order, with timestamps converted to ms.
    /// Only one chunk is in memory at a time. Stops at the first error returned by `f`.
    pub fn for_each_chunk(
        &self,
        name: &str,
        chunk_len: usize,
        mut f: impl FnMut(&[f64], &[u64]) -> Result<()>,
    ) -> Result<()> {
        let info = self.population(name)?;
        let err = h5_err(&self.path);
        let group = self.file.group(&format!("spikes/{name}")).map_err(&err)?;
        let timestamps = group.dataset("timestamps").map_err(&err)?;
        let node_ids = group.dataset("node_ids").map_err(&err)?;
        let chunk_len = chunk_len.max(1);
        let mut start = 0;
        while start < info.len {
            let end = (start + chunk_len).min(info.len);
            let (mut ts, _) = timestamps
                .read_slice_1d::<f64, _>(start..end)
                .map_err(&err)?
                .into_raw_vec_and_offset();
            let (ids, _) = node_ids
                .read_slice_1d::<u64, _>(start..end)
                .map_err(&err)?
                .into_raw_vec_and_offset();
            if info.ms_per_unit != 1.0 {
                ts.iter_mut().for_each(|t| *t *= info.ms_per_unit);
            }
            f(&ts, &ids)?;
            start = end;
        }
        Ok(())
    }

    /// Reads all spikes of population `name` (timestamps in ms, node ids). Needs memory for the
    /// whole population; use [`for_each_chunk`](Self::for_each_chunk) for large files.
    pub fn read_all(&self, name: &str) -> Result<(Vec<f64>, Vec<u64>)> {
        let mut timestamps = Vec::with_capacity(self.len(name)?);
        let mut node_ids = Vec::with_capacity(timestamps.capacity());
        self.for_each_chunk(name, SPIKE_CHUNK, |t, n| {
            timestamps.extend_from_slice(t);
            node_ids.extend_from_slice(n);
            Ok(())
        })?;
        Ok((timestamps, node_ids))
    }
}

/// Reads the optional `sorting` attribute of a population group. Accepts the enum libsonata and
/// h5py write (matched by member name, whatever the base type), a plain integer 0/1/2, or a
/// string; the error is a message for the caller to wrap.
fn read_sorting(group: &Group) -> std::result::Result<Sorting, String> {
    let names = group.attr_names().map_err(|e| e.to_string())?;
    if !names.iter().any(|n| n == "sorting") {
        return Ok(Sorting::None);
    }
    let attr = group.attr("sorting").map_err(|e| e.to_string())?;
    let descriptor = attr
        .dtype()
        .and_then(|t| t.to_descriptor())
        .map_err(|e| e.to_string())?;
    let unknown =
        |what: String| format!("attribute `sorting` is {what}; expected none, by_id or by_time");
    match descriptor {
        TypeDescriptor::Enum(e) => {
            // Reading through a numeric type avoids HDF5's enum-to-enum conversion, which turns
            // unknown members into an out-of-range value instead of an error.
            let value = attr
                .read_scalar::<i64>()
                .map_err(|err| format!("attribute `sorting`: {err}"))?;
            let member = e.members.iter().find(|m| m.value as i64 == value);
            member
                .and_then(|m| Sorting::from_name(&m.name))
                .ok_or_else(|| {
                    unknown(format!(
                        "the enum value {value} ({:?})",
                        member.map(|m| &m.name)
                    ))
                })
        }
        TypeDescriptor::Integer(_) | TypeDescriptor::Unsigned(_) => {
            match attr.read_scalar::<i64>().map_err(|e| e.to_string())? {
                0 => Ok(Sorting::None),
                1 => Ok(Sorting::ById),
                2 => Ok(Sorting::ByTime),
                v => Err(unknown(format!("the integer {v}"))),
            }
        }
        _ => {
            let text = read_str_attr(group, "sorting")
                .map_err(|e| e.to_string())?
                .unwrap_or_default();
            // Older BMTK files store the order as a string, sometimes "time" or "id".
            match text.trim() {
                "time" => Ok(Sorting::ByTime),
                "id" => Ok(Sorting::ById),
                name => Sorting::from_name(name).ok_or_else(|| unknown(format!("\"{text}\""))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_order_append_sets_sorting_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.h5");
        let mut w = SonataWriter::create(&path, &["a", "b", "c"]).unwrap();
        w.append(0, &[1.0, 2.0], &[0, 1]).unwrap();
        w.append(0, &[1.5], &[2]).unwrap();
        w.append(1, &[1.0, 1.0, 3.0], &[0, 1, 2]).unwrap();
        w.append(2, &[2.0, 1.0], &[0, 1]).unwrap();
        w.close().unwrap();
        let r = SonataReader::open(&path).unwrap();
        assert_eq!(r.sorting("a").unwrap(), Sorting::None);
        // Equal times are still in time order.
        assert_eq!(r.sorting("b").unwrap(), Sorting::ByTime);
        assert_eq!(r.sorting("c").unwrap(), Sorting::None);
        assert_eq!(r.read_all("a").unwrap().0, [1.0, 2.0, 1.5]);
    }

    #[test]
    fn bad_appends_are_rejected_without_effect() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.h5");
        let mut w = SonataWriter::create(&path, &["a"]).unwrap();
        assert!(w.append(1, &[1.0], &[0]).is_err());
        assert!(w.append(0, &[1.0, 2.0], &[0]).is_err());
        assert!(w.append(0, &[f64::NAN], &[0]).is_err());
        assert_eq!(w.len(0), Some(0));
        w.close().unwrap();
        assert_eq!(
            SonataReader::open(&path).unwrap().sorting("a").unwrap(),
            Sorting::ByTime
        );
        assert!(SonataWriter::create(&path, &["a", "a"]).is_err());
        assert!(SonataWriter::create(&path, &["a/b"]).is_err());
    }
}
