//! MNIST reader and `data mnist` errors: missing, truncated and corrupt files, import.

use burstccn::rate::mnist::{self, Obtained, FILES};
use std::io::{Read, Write};
use std::path::Path;

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/mnist");

fn copy_all(to: &Path) {
    for f in FILES {
        std::fs::copy(
            Path::new(SHARED).join(format!("{}.gz", f.name)),
            to.join(format!("{}.gz", f.name)),
        )
        .unwrap();
    }
}

#[test]
fn reads_shared_copy() {
    let data = mnist::load(Path::new(SHARED)).unwrap();
    assert_eq!(data.train.len(), 60_000);
    assert_eq!(data.test.len(), 10_000);
    assert!(data.train.images.iter().all(|&p| (0.0..=1.0).contains(&p)));
}

#[test]
fn missing_file_names_file_and_fix() {
    let dir = tempfile::tempdir().unwrap();
    let err = mnist::load(dir.path()).unwrap_err().to_string();
    assert!(err.contains("train-images-idx3-ubyte"), "{err}");
    assert!(err.contains("burstccn data mnist"), "{err}");
}

#[test]
fn truncated_gzip_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    copy_all(dir.path());
    let p = dir.path().join("t10k-labels-idx1-ubyte.gz");
    let bytes = std::fs::read(&p).unwrap();
    std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
    let err = mnist::load(dir.path()).unwrap_err().to_string();
    assert!(err.contains("t10k-labels-idx1-ubyte.gz"), "{err}");
    assert!(
        err.contains("truncated or corrupt") && err.contains("burstccn data mnist"),
        "{err}"
    );
}

#[test]
fn corrupt_raw_file_fails_md5() {
    let dir = tempfile::tempdir().unwrap();
    copy_all(dir.path());
    // Replace the gzip test labels by a raw copy with one label changed.
    let gz = dir.path().join("t10k-labels-idx1-ubyte.gz");
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&gz).unwrap())
        .read_to_end(&mut raw)
        .unwrap();
    std::fs::remove_file(&gz).unwrap();
    raw[100] = (raw[100] + 1) % 10;
    let rp = dir.path().join("t10k-labels-idx1-ubyte");
    std::fs::File::create(&rp).unwrap().write_all(&raw).unwrap();
    let err = mnist::load(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("t10k-labels-idx1-ubyte") && err.contains("MD5"),
        "{err}"
    );
}

#[test]
fn import_from_local_copies_then_present() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("mnist");
    let report = mnist::obtain(&dest, Some(Path::new(SHARED))).unwrap();
    assert!(report
        .iter()
        .all(|(_, how)| matches!(how, Obtained::Imported(_))));
    let again = mnist::obtain(&dest, None).unwrap();
    assert!(again.iter().all(|(_, how)| *how == Obtained::Present));
}

#[test]
fn failed_download_explains_the_alternatives() {
    let dir = tempfile::tempdir().unwrap();
    // The smallest file; in a sandbox without internet every mirror fails.
    match mnist::download(dir.path(), &FILES[3]) {
        Ok(url) => eprintln!("internet available: downloaded from {url}"),
        Err(e) => {
            let err = e.to_string();
            assert!(
                err.contains("could not download") && err.contains("--from"),
                "{err}"
            );
            assert!(!dir.path().join("t10k-labels-idx1-ubyte.gz").exists());
        }
    }
}
