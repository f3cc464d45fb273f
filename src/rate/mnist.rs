//! MNIST in IDX format (raw or gzip), checked against the MD5 of the canonical uncompressed
//! files, and `burstccn data mnist` to obtain the four files.
//!
//! Pixels are scaled to [0, 1] without normalisation and targets are one-hot 0/1, as in
//! [BCN `datasets.py`] (rate_model.md §7, Data).

use crate::error::{Error, Result};
use crate::Real;
use md5::{Digest, Md5};
use std::io::Read;
use std::path::{Path, PathBuf};

/// One of the four MNIST files: name (without `.gz`), MD5 of the uncompressed file, and the
/// number of items it must hold.
#[derive(Clone, Copy, Debug)]
pub struct MnistFile {
    pub name: &'static str,
    pub md5: &'static str,
    pub items: usize,
    pub images: bool,
}

/// The four files with the MD5 sums of the canonical uncompressed distribution.
pub const FILES: [MnistFile; 4] = [
    MnistFile {
        name: "train-images-idx3-ubyte",
        md5: "6bbc9ace898e44ae57da46a324031adb",
        items: 60_000,
        images: true,
    },
    MnistFile {
        name: "train-labels-idx1-ubyte",
        md5: "a25bea736e30d166cdddb491f175f624",
        items: 60_000,
        images: false,
    },
    MnistFile {
        name: "t10k-images-idx3-ubyte",
        md5: "2646ac647ad5339dbf082846283269ea",
        items: 10_000,
        images: true,
    },
    MnistFile {
        name: "t10k-labels-idx1-ubyte",
        md5: "27ae3e4e09519cfbb04c329615203637",
        items: 10_000,
        images: false,
    },
];

/// Public mirrors tried in order by [`download`].
pub const MIRRORS: [&str; 3] = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
];

/// Pixels per image (28 × 28).
pub const PIXELS: usize = 784;
/// Number of classes.
pub const CLASSES: usize = 10;

/// A set of images in [0, 1] (n × 784, row-major) with labels 0–9.
#[derive(Clone, Debug, Default)]
pub struct Split {
    pub images: Vec<Real>,
    pub labels: Vec<u8>,
}

impl Split {
    /// Number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the split is empty.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Keeps the first `n` examples (all if `n` is 0 or larger than the split).
    pub fn truncate(&mut self, n: usize) {
        if n > 0 && n < self.len() {
            self.labels.truncate(n);
            self.images.truncate(n * PIXELS);
        }
    }
}

/// The training (60 000) and test (10 000) sets.
#[derive(Clone, Debug, Default)]
pub struct Mnist {
    pub train: Split,
    pub test: Split,
}

fn fix_hint(dir: &Path) -> String {
    format!(
        "run `burstccn data mnist --dir {}` (add `--from PATH` to import local copies) to obtain and verify the files",
        dir.display()
    )
}

/// Where `file` lives in `dir`: `NAME.gz` if present, else the raw `NAME`.
fn locate(dir: &Path, file: &MnistFile) -> Result<PathBuf> {
    let gz = dir.join(format!("{}.gz", file.name));
    let raw = dir.join(file.name);
    if gz.is_file() {
        Ok(gz)
    } else if raw.is_file() {
        Ok(raw)
    } else {
        Err(Error::io(
            &gz,
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!(
                    "MNIST file missing (looked for {} and {}); {}",
                    gz.display(),
                    raw.display(),
                    fix_hint(dir)
                ),
            ),
        ))
    }
}

/// Reads `path` (gzip-decompressed if it ends in `.gz`) and checks its MD5 against `file`.
pub fn read_verified(path: &Path, file: &MnistFile) -> Result<Vec<u8>> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let data = if path.extension().is_some_and(|x| x == "gz") {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .map_err(|e| Error::Parse {
                file: path.display().to_string(),
                message: format!(
                    "not a valid gzip file ({e}); it is truncated or corrupt: delete it and {}",
                    fix_hint(dir)
                ),
            })?;
        out
    } else {
        bytes
    };
    let sum = md5_hex(&data);
    if sum != file.md5 {
        return Err(Error::Parse {
            file: path.display().to_string(),
            message: format!(
                "MD5 of the uncompressed content is {sum}, expected {} ({} bytes read); the file is \
                 truncated or corrupt: delete it and {}",
                file.md5,
                data.len(),
                fix_hint(dir)
            ),
        });
    }
    Ok(data)
}

/// Lower-case hex MD5 of `data`.
pub fn md5_hex(data: &[u8]) -> String {
    Md5::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Parses an IDX file's header and returns its payload, checking magic number and sizes.
fn parse_idx<'a>(data: &'a [u8], path: &Path, file: &MnistFile) -> Result<&'a [u8]> {
    let err = |message: String| Error::Parse {
        file: path.display().to_string(),
        message,
    };
    let be = |i: usize| -> Option<usize> {
        data.get(i..i + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    let (magic, dims) = if file.images {
        (0x0803, 3)
    } else {
        (0x0801, 1)
    };
    let header = 4 + 4 * dims;
    if be(0) != Some(magic) {
        return Err(err(format!(
            "not an IDX {} file (magic number {:?}, expected {magic:#06x})",
            if file.images { "image" } else { "label" },
            be(0)
        )));
    }
    let shape: Vec<usize> = (0..dims).filter_map(|d| be(4 + 4 * d)).collect();
    let expected: Vec<usize> = if file.images {
        vec![file.items, 28, 28]
    } else {
        vec![file.items]
    };
    if shape != expected {
        return Err(err(format!("IDX shape {shape:?}, expected {expected:?}")));
    }
    let len: usize = shape.iter().product();
    if data.len() != header + len {
        return Err(err(format!(
            "{} payload bytes, expected {len}; the file is truncated or corrupt",
            data.len().saturating_sub(header)
        )));
    }
    Ok(&data[header..])
}

fn load_split(dir: &Path, images: &MnistFile, labels: &MnistFile) -> Result<Split> {
    let ip = locate(dir, images)?;
    let lp = locate(dir, labels)?;
    let idata = read_verified(&ip, images)?;
    let ldata = read_verified(&lp, labels)?;
    let pixels = parse_idx(&idata, &ip, images)?;
    let labs = parse_idx(&ldata, &lp, labels)?;
    if let Some(bad) = labs.iter().find(|&&l| l as usize >= CLASSES) {
        return Err(Error::Parse {
            file: lp.display().to_string(),
            message: format!("label {bad} is not a digit 0–9"),
        });
    }
    Ok(Split {
        images: pixels.iter().map(|&p| p as Real / 255.0).collect(),
        labels: labs.to_vec(),
    })
}

/// Loads and verifies the four files from `dir` (each as `NAME.gz` or raw `NAME`).
pub fn load(dir: &Path) -> Result<Mnist> {
    Ok(Mnist {
        train: load_split(dir, &FILES[0], &FILES[1])?,
        test: load_split(dir, &FILES[2], &FILES[3])?,
    })
}

/// How [`obtain`] got a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Obtained {
    /// It was already in the directory and verified.
    Present,
    /// Copied from a local directory.
    Imported(PathBuf),
    /// Downloaded from a mirror.
    Downloaded(String),
}

/// Makes the four files present and verified in `dir`: files already there are verified,
/// missing ones are copied from `from` (a directory with `NAME.gz` or raw `NAME` files) or,
/// without `from`, downloaded from [`MIRRORS`]. A file that fails verification is never left
/// in `dir`.
pub fn obtain(dir: &Path, from: Option<&Path>) -> Result<Vec<(&'static str, Obtained)>> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut report = Vec::new();
    for file in &FILES {
        if let Ok(path) = locate(dir, file) {
            read_verified(&path, file)?;
            report.push((file.name, Obtained::Present));
            continue;
        }
        let how = match from {
            Some(src) => {
                let sp = locate(src, file)?;
                read_verified(&sp, file)?;
                let name = sp.file_name().expect("located files have names");
                let dest = dir.join(name);
                std::fs::copy(&sp, &dest).map_err(|e| Error::io(&dest, e))?;
                Obtained::Imported(sp)
            }
            None => Obtained::Downloaded(download(dir, file)?),
        };
        let path = locate(dir, file)?;
        if let Err(e) = read_verified(&path, file) {
            // Best effort: a failed removal leaves a file that the next run rejects by MD5.
            let _ = std::fs::remove_file(&path);
            return Err(e);
        }
        report.push((file.name, how));
    }
    Ok(report)
}

/// Downloads `NAME.gz` into `dir` from the first mirror that serves a verified copy; returns
/// the URL used. The error lists every mirror's failure and the manual alternative.
pub fn download(dir: &Path, file: &MnistFile) -> Result<String> {
    let dest = dir.join(format!("{}.gz", file.name));
    let part = dir.join(format!("{}.gz.part", file.name));
    let mut failures = Vec::new();
    for mirror in MIRRORS {
        let url = format!("{mirror}{}.gz", file.name);
        match fetch(&url) {
            Ok(bytes) => {
                std::fs::write(&part, &bytes).map_err(|e| Error::io(&part, e))?;
                match read_verified(&part, file) {
                    Ok(_) => {
                        std::fs::rename(&part, &dest).map_err(|e| Error::io(&dest, e))?;
                        return Ok(url);
                    }
                    Err(e) => {
                        let _ = std::fs::remove_file(&part);
                        failures.push(format!("{url}: {e}"));
                    }
                }
            }
            Err(e) => failures.push(format!("{url}: {e}")),
        }
    }
    Err(Error::io(
        &dest,
        std::io::Error::other(format!(
            "could not download {}.gz from any mirror ({}); copy the four MNIST files (gzip or raw IDX) \
             into {} by hand, or pass --from PATH with a directory that holds them",
            file.name,
            failures.join("; "),
            dir.display()
        )),
    ))
}

fn fetch(url: &str) -> std::result::Result<Vec<u8>, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(std::time::Duration::from_secs(10)))
        .timeout_global(Some(std::time::Duration::from_secs(300)))
        .build()
        .into();
    let mut resp = agent.get(url).call().map_err(|e| e.to_string())?;
    resp.body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_vec()
        .map_err(|e| e.to_string())
}

/// One-hot 0/1 targets for `labels` (n × 10).
pub fn one_hot(labels: &[u8]) -> Vec<Real> {
    let mut t = vec![0.0; labels.len() * CLASSES];
    for (i, &l) in labels.iter().enumerate() {
        t[i * CLASSES + l as usize] = 1.0;
    }
    t
}
