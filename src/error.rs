//! The library's error type. Every variant that comes from user input names the file, the
//! key and what is expected, so the CLI can print it as one paragraph and exit with code 2.

use std::path::PathBuf;

/// Result alias used across the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors of the library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration value is wrong: `file`: key `key`: message (which says what is expected).
    #[error("{file}: key `{key}`: {message}")]
    Config {
        file: String,
        key: String,
        message: String,
    },
    /// A file could not be parsed at all (malformed TOML, corrupt data file).
    #[error("{file}: {message}")]
    Parse { file: String, message: String },
    /// An input or output file could not be opened, read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// An HDF5 operation failed.
    #[error("{path}: HDF5 error: {message}")]
    Hdf5 { path: PathBuf, message: String },
    /// The output directory exists and `--force` was not given.
    #[error("output directory {0} already exists; choose another with --out or pass --force to replace it")]
    OutputExists(PathBuf),
    /// The dynamics ran away (NaN or a rate beyond its bound); files were closed before this returned.
    #[error("numerical instability in population `{population}` at t = {time_s:.4} s: {message}")]
    Instability {
        population: String,
        time_s: f64,
        message: String,
    },
    /// The run was interrupted (Ctrl-C); files were closed before this returned.
    #[error("interrupted at t = {time_s:.4} s; recordings up to that time are in {dir}")]
    Interrupted { time_s: f64, dir: PathBuf },
}

impl Error {
    /// Whether the error comes from bad user input (exit code 2) rather than a failure during a run.
    pub fn is_input_error(&self) -> bool {
        matches!(
            self,
            Error::Config { .. } | Error::Parse { .. } | Error::OutputExists(_)
        ) || matches!(self, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }

    /// Shorthand for a [`Error::Config`].
    pub fn config(
        file: impl Into<String>,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Error::Config {
            file: file.into(),
            key: key.into(),
            message: message.into(),
        }
    }

    /// Shorthand for an [`Error::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Shorthand for an [`Error::Hdf5`].
    pub fn hdf5(path: impl Into<PathBuf>, err: impl std::fmt::Display) -> Self {
        Error::Hdf5 {
            path: path.into(),
            message: err.to_string(),
        }
    }
}
