//! Learning experiments: protocols of examples and phases run on one network, with a teacher
//! and per-example cost (spec/experiments.md §5), and the XOR readouts.

pub mod protocol;
pub mod xor;

pub use protocol::{Protocol, XorSummary};

/// The `--set` edits of an experiment's `[quick]` table: a flat table of dotted keys, applied
/// by `burstccn learn --quick` before the user's own `--set` edits.
pub fn quick_sets(file: &str, raw: &toml::Table) -> crate::Result<Vec<String>> {
    let Some(v) = raw.get("quick") else {
        return Err(crate::Error::config(
            file,
            "quick",
            "--quick needs a [quick] table of dotted keys, e.g. \"protocol.epochs\" = 5",
        ));
    };
    let t = v
        .as_table()
        .ok_or_else(|| crate::Error::config(file, "quick", "expected a table"))?;
    Ok(t.iter().map(|(k, v)| format!("{k}={v}")).collect())
}
