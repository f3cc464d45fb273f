//! Small HDF5 building blocks shared by the recorders (`spikes.h5`, `recordings.h5`).
//!
//! Recordings of arbitrary length must not grow in memory, so every appendable dataset here is
//! chunked with an unlimited first dimension and keeps at most one chunk in a memory buffer:
//! when the buffer is full it is written to the file and emptied. `Drop` writes what is left on
//! a best-effort basis, so a run that stops early (error, Ctrl-C turned into an orderly stop)
//! still leaves every appended value in a valid file; call `close` to see write errors.

use std::path::{Path, PathBuf};

use hdf5::types::{FixedAscii, FixedUnicode, TypeDescriptor, VarLenAscii, VarLenUnicode};
use hdf5::{Dataset, Group, H5Type, Location};
use ndarray::{s, ArrayView2};

use crate::{Error, Result};

/// Default number of elements per HDF5 chunk and per memory buffer of an appendable column.
/// 64 Ki values of 8 bytes make 512 KiB chunks, which fit HDF5's default 1 MiB chunk cache.
pub const DEFAULT_CHUNK_LEN: usize = 64 * 1024;

/// Longest fixed-length string attribute read back completely by [`read_str_attr`] (bytes).
const MAX_FIXED_STR: usize = 1024;

/// The file a location belongs to, for error messages.
fn file_of(loc: &Location) -> PathBuf {
    PathBuf::from(loc.filename())
}

/// Maps an HDF5 error on `path` to the library error.
pub(crate) fn h5_err(path: &Path) -> impl Fn(hdf5::Error) -> Error + '_ {
    move |e| Error::hdf5(path, e)
}

/// Opens the group at `path` (slash-separated, relative to `parent`), creating missing levels.
pub fn ensure_group(parent: &Group, path: &str) -> Result<Group> {
    let file = file_of(parent);
    let mut group = parent.clone();
    for name in path.split('/').filter(|n| !n.is_empty()) {
        group = if group.link_exists(name) {
            group.group(name)
        } else {
            group.create_group(name)
        }
        .map_err(|e| Error::hdf5(&file, format!("group `{name}` in `{}`: {e}", group.name())))?;
    }
    Ok(group)
}

/// Removes the attribute `name` of `loc` if present, so that it can be re-created with a new
/// type or shape (HDF5 cannot change an attribute's type in place).
fn remove_attr(loc: &Location, name: &str) -> Result<()> {
    let exists = loc
        .attr_names()
        .map_err(|e| Error::hdf5(file_of(loc), e))?
        .iter()
        .any(|n| n == name);
    if exists {
        loc.delete_attr(name)
            .map_err(|e| Error::hdf5(file_of(loc), format!("attribute `{name}`: {e}")))?;
    }
    Ok(())
}

/// Writes (or replaces) a string attribute, stored as a variable-length UTF-8 string: the form
/// h5py writes for `str` and libsonata reads (e.g. the `units` attribute of SONATA timestamps).
pub fn write_str_attr(loc: &Location, name: &str, value: &str) -> Result<()> {
    let file = file_of(loc);
    let err = |e: hdf5::Error| Error::hdf5(&file, format!("attribute `{name}`: {e}"));
    let value: VarLenUnicode = value
        .parse()
        .map_err(|e| err(hdf5::Error::from(format!("{e}"))))?;
    remove_attr(loc, name)?;
    loc.new_attr::<VarLenUnicode>()
        .create(name)
        .and_then(|a| a.write_scalar(&value))
        .map_err(err)
}

/// Writes (or replaces) a scalar attribute of any HDF5 type (numbers, enums).
pub fn write_scalar_attr<T: H5Type>(loc: &Location, name: &str, value: &T) -> Result<()> {
    remove_attr(loc, name)?;
    loc.new_attr::<T>()
        .create(name)
        .and_then(|a| a.write_scalar(value))
        .map_err(|e| Error::hdf5(file_of(loc), format!("attribute `{name}`: {e}")))
}

/// Writes (or replaces) a 1-D array attribute (e.g. the SONATA root `version` = [0, 1]).
pub fn write_array_attr<T: H5Type>(loc: &Location, name: &str, values: &[T]) -> Result<()> {
    remove_attr(loc, name)?;
    loc.new_attr_builder()
        .with_data(values)
        .create(name)
        .map(drop)
        .map_err(|e| Error::hdf5(file_of(loc), format!("attribute `{name}`: {e}")))
}

/// Reads a string attribute written by any tool (variable- or fixed-length, ASCII or UTF-8).
/// Returns `Ok(None)` if the attribute is absent and an error if it is not a string.
/// Fixed-length strings longer than 1024 bytes are truncated.
pub fn read_str_attr(loc: &Location, name: &str) -> Result<Option<String>> {
    let file = file_of(loc);
    let err = |e: hdf5::Error| Error::hdf5(&file, format!("attribute `{name}`: {e}"));
    let names = loc.attr_names().map_err(err)?;
    if !names.iter().any(|n| n == name) {
        return Ok(None);
    }
    let attr = loc.attr(name).map_err(err)?;
    let descriptor = attr.dtype().and_then(|t| t.to_descriptor()).map_err(err)?;
    let value = match descriptor {
        TypeDescriptor::VarLenUnicode => attr.read_scalar::<VarLenUnicode>().map(|s| s.to_string()),
        TypeDescriptor::VarLenAscii => attr.read_scalar::<VarLenAscii>().map(|s| s.to_string()),
        TypeDescriptor::FixedUnicode(_) => attr
            .read_scalar::<FixedUnicode<MAX_FIXED_STR>>()
            .map(|s| s.to_string()),
        TypeDescriptor::FixedAscii(_) => attr
            .read_scalar::<FixedAscii<MAX_FIXED_STR>>()
            .map(|s| s.to_string()),
        other => {
            return Err(Error::Parse {
                file: file.display().to_string(),
                message: format!(
                    "attribute `{name}` of `{}` should be a string, found {other}",
                    loc.name()
                ),
            })
        }
    }
    .map_err(err)?;
    Ok(Some(value))
}

/// An appendable, chunked 1-D dataset with a bounded memory buffer (values of `T`: f32, f64,
/// u64 or any other HDF5 scalar type).
///
/// Values are kept in memory until a full chunk is collected, then written; `flush` writes a
/// partial chunk. Dropping the column flushes on a best-effort basis.
pub struct AppendColumn<T: H5Type + Copy> {
    dataset: Dataset,
    file: PathBuf,
    buffer: Vec<T>,
    written: usize,
    chunk_len: usize,
}

impl<T: H5Type + Copy> AppendColumn<T> {
    /// Creates the empty dataset `name` in `parent`, chunked by `chunk_len` values (at least 1)
    /// and extendable without limit.
    pub fn create(parent: &Group, name: &str, chunk_len: usize) -> Result<Self> {
        let file = file_of(parent);
        let chunk_len = chunk_len.max(1);
        let dataset = parent
            .new_dataset::<T>()
            .chunk(chunk_len)
            .shape(0..)
            .create(name)
            .map_err(|e| Error::hdf5(&file, format!("dataset `{name}`: {e}")))?;
        Ok(Self {
            dataset,
            file,
            buffer: Vec::with_capacity(chunk_len),
            written: 0,
            chunk_len,
        })
    }

    /// The underlying dataset (for attributes such as `units`).
    pub fn dataset(&self) -> &Dataset {
        &self.dataset
    }

    /// Number of values appended so far, written or buffered.
    pub fn len(&self) -> usize {
        self.written + self.buffer.len()
    }

    /// Whether no value has been appended.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends one value.
    pub fn push(&mut self, value: T) -> Result<()> {
        self.extend(std::slice::from_ref(&value))
    }

    /// Appends values; whenever the buffer holds a full chunk it is written to the file, so the
    /// buffer never exceeds one chunk whatever the length of `values`.
    pub fn extend(&mut self, mut values: &[T]) -> Result<()> {
        while !values.is_empty() {
            let room = self.chunk_len - self.buffer.len();
            let (now, rest) = values.split_at(room.min(values.len()));
            self.buffer.extend_from_slice(now);
            values = rest;
            if self.buffer.len() == self.chunk_len {
                self.flush()?;
            }
        }
        Ok(())
    }

    /// Writes the buffered values to the file (the file itself is flushed by its owner).
    pub fn flush(&mut self) -> Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let end = self.written + self.buffer.len();
        self.dataset
            .resize(end)
            .and_then(|_| {
                self.dataset
                    .write_slice(self.buffer.as_slice(), self.written..end)
            })
            .map_err(|e| {
                Error::hdf5(
                    &self.file,
                    format!("dataset `{}`: {e}", self.dataset.name()),
                )
            })?;
        self.written = end;
        self.buffer.clear();
        Ok(())
    }

    /// Writes the buffered values and releases the dataset, reporting any error.
    pub fn close(mut self) -> Result<()> {
        self.flush()
    }
}

impl<T: H5Type + Copy> Drop for AppendColumn<T> {
    fn drop(&mut self) {
        // Errors cannot be returned from `drop`; `close` is the way to see them.
        let _ = self.flush();
    }
}

/// An appendable, chunked 2-D dataset with a fixed number of columns (rows = time samples,
/// columns = e.g. recorded neurons), with a buffer of at most `chunk_rows` rows.
pub struct AppendTable<T: H5Type + Copy> {
    dataset: Dataset,
    file: PathBuf,
    columns: usize,
    buffer: Vec<T>,
    written_rows: usize,
    chunk_rows: usize,
}

impl<T: H5Type + Copy> AppendTable<T> {
    /// Creates the empty dataset `name` of shape (0, `columns`) in `parent`, extendable without
    /// limit along rows and chunked by `chunk_rows` rows (at least 1). `columns` must be ≥ 1.
    pub fn create(parent: &Group, name: &str, columns: usize, chunk_rows: usize) -> Result<Self> {
        let file = file_of(parent);
        if columns == 0 {
            return Err(Error::hdf5(
                &file,
                format!("dataset `{name}`: a table needs at least one column"),
            ));
        }
        let chunk_rows = chunk_rows.max(1);
        let dataset = parent
            .new_dataset::<T>()
            .chunk((chunk_rows, columns))
            .shape([(0, None), (columns, Some(columns))])
            .create(name)
            .map_err(|e| Error::hdf5(&file, format!("dataset `{name}`: {e}")))?;
        Ok(Self {
            dataset,
            file,
            columns,
            buffer: Vec::with_capacity(chunk_rows * columns),
            written_rows: 0,
            chunk_rows,
        })
    }

    /// The underlying dataset (for attributes).
    pub fn dataset(&self) -> &Dataset {
        &self.dataset
    }

    /// Number of columns of every row.
    pub fn columns(&self) -> usize {
        self.columns
    }

    /// Number of rows appended so far, written or buffered.
    pub fn rows(&self) -> usize {
        self.written_rows + self.buffer.len() / self.columns
    }

    /// Appends one row; `row.len()` must equal the number of columns.
    pub fn push_row(&mut self, row: &[T]) -> Result<()> {
        if row.len() != self.columns {
            return Err(Error::hdf5(
                &self.file,
                format!(
                    "dataset `{}`: row of {} values appended to a table of {} columns",
                    self.dataset.name(),
                    row.len(),
                    self.columns
                ),
            ));
        }
        self.buffer.extend_from_slice(row);
        if self.buffer.len() == self.chunk_rows * self.columns {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes the buffered rows to the file.
    pub fn flush(&mut self) -> Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let rows = self.buffer.len() / self.columns;
        let end = self.written_rows + rows;
        let name = self.dataset.name();
        let view = ArrayView2::from_shape((rows, self.columns), self.buffer.as_slice())
            .map_err(|e| Error::hdf5(&self.file, format!("dataset `{name}`: {e}")))?;
        self.dataset
            .resize((end, self.columns))
            .and_then(|_| {
                self.dataset
                    .write_slice(view, s![self.written_rows..end, ..])
            })
            .map_err(|e| Error::hdf5(&self.file, format!("dataset `{name}`: {e}")))?;
        self.written_rows = end;
        self.buffer.clear();
        Ok(())
    }

    /// Writes the buffered rows and releases the dataset, reporting any error.
    pub fn close(mut self) -> Result<()> {
        self.flush()
    }
}

impl<T: H5Type + Copy> Drop for AppendTable<T> {
    fn drop(&mut self) {
        // Errors cannot be returned from `drop`; `close` is the way to see them.
        let _ = self.flush();
    }
}

/// Reads the whole 1-D dataset at `path` below `parent` as f64 (for small, bounded datasets
/// such as binned rates; spike trains are streamed by the SONATA reader instead).
pub fn read_column(parent: &Group, path: &str) -> Result<Vec<f64>> {
    let file = file_of(parent);
    parent
        .dataset(path)
        .and_then(|d| d.read_raw::<f64>())
        .map_err(|e| Error::hdf5(&file, format!("dataset `{path}`: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_and_table_round_trip_across_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rec.h5");
        let values: Vec<f32> = (0..1000).map(|i| i as f32 * 0.5).collect();
        let ids: Vec<u64> = (0..1000).collect();
        {
            let file = hdf5::File::create(&path).unwrap();
            let group = ensure_group(&file, "rates/L5").unwrap();
            let mut col = AppendColumn::<f32>::create(&group, "rate", 64).unwrap();
            for piece in values.chunks(37) {
                col.extend(piece).unwrap();
            }
            assert_eq!(col.len(), 1000);
            col.close().unwrap();
            let mut ucol = AppendColumn::<u64>::create(&group, "ids", 100).unwrap();
            for &i in &ids {
                ucol.push(i).unwrap();
            }
            // Dropped without close: the last partial chunk must still reach the file.
            drop(ucol);
            let mut table = AppendTable::<f64>::create(&group, "v", 3, 4).unwrap();
            for r in 0..10 {
                table
                    .push_row(&[r as f64, r as f64 + 0.1, r as f64 + 0.2])
                    .unwrap();
            }
            assert!(table.push_row(&[1.0]).is_err());
            assert_eq!(table.rows(), 10);
            drop(table);
            write_str_attr(&group, "units", "Hz").unwrap();
            write_str_attr(&group, "units", "kHz").unwrap();
            write_scalar_attr(&group, "dt", &0.1e-3_f64).unwrap();
            write_array_attr(&group, "shape", &[2u32, 3]).unwrap();
        }
        let file = hdf5::File::open(&path).unwrap();
        let group = file.group("rates/L5").unwrap();
        assert_eq!(
            group.dataset("rate").unwrap().read_raw::<f32>().unwrap(),
            values
        );
        assert_eq!(
            group.dataset("ids").unwrap().read_raw::<u64>().unwrap(),
            ids
        );
        let v = group.dataset("v").unwrap().read_2d::<f64>().unwrap();
        assert_eq!(v.shape(), &[10, 3]);
        assert_eq!(v[[7, 2]], 7.2);
        assert_eq!(
            read_str_attr(&group, "units").unwrap().as_deref(),
            Some("kHz")
        );
        assert_eq!(read_str_attr(&group, "missing").unwrap(), None);
        assert!(read_str_attr(&group, "dt").is_err());
        let dt: f64 = group.attr("dt").unwrap().read_scalar().unwrap();
        assert_eq!(dt, 0.1e-3);
        let shape: Vec<u32> = group.attr("shape").unwrap().read_raw().unwrap();
        assert_eq!(shape, [2, 3]);
    }

    #[test]
    fn fixed_length_string_attributes_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.h5");
        let file = hdf5::File::create(&path).unwrap();
        let value = FixedAscii::<8>::from_ascii("s").unwrap();
        file.new_attr::<FixedAscii<8>>()
            .create("units")
            .unwrap()
            .write_scalar(&value)
            .unwrap();
        assert_eq!(read_str_attr(&file, "units").unwrap().as_deref(), Some("s"));
    }
}
