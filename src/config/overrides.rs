//! `--set key.path=value` edits of the raw TOML table, applied before validation.

use crate::error::{Error, Result};

/// Applies each `KEY=VALUE` of `sets` to `table`. VALUE is read as a TOML value ("2", "0.5",
/// "true", "[1, 2]", "\"50 ms\"") and taken as a plain string when it is not one ("50 ms").
pub fn apply(table: &mut toml::Table, sets: &[String]) -> Result<()> {
    for set in sets {
        let (key, value) = set.split_once('=').ok_or_else(|| {
            Error::config(
                "--set",
                set,
                "expected KEY=VALUE, for example --set duration_s=2",
            )
        })?;
        let key = key.trim();
        let value: toml::Value = match toml::from_str::<toml::Table>(&format!("v = {value}")) {
            Ok(mut t) => t.remove("v").expect("the key v was just written"),
            Err(_) => toml::Value::String(value.trim().to_string()),
        };
        let parts: Vec<&str> = key.split('.').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(Error::config("--set", key, "empty part in the key path"));
        }
        let mut node = &mut *table;
        for part in &parts[..parts.len() - 1] {
            let entry = node
                .entry(part.to_string())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            node = entry.as_table_mut().ok_or_else(|| {
                Error::config(
                    "--set",
                    key,
                    format!("`{part}` is not a table, so it has no sub-keys"),
                )
            })?;
        }
        node.insert(parts[parts.len() - 1].to_string(), value);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_nested_values_and_strings() {
        let mut t: toml::Table =
            toml::from_str("duration_s = 4\n[populations.a]\nsize = 10").unwrap();
        apply(
            &mut t,
            &[
                "duration_s=2".into(),
                "populations.a.size=5".into(),
                "dt=0.2 ms".into(),
            ],
        )
        .unwrap();
        assert_eq!(t["duration_s"].as_integer(), Some(2));
        assert_eq!(t["populations"]["a"]["size"].as_integer(), Some(5));
        assert_eq!(t["dt"].as_str(), Some("0.2 ms"));
        assert!(apply(&mut t, &["nonsense".into()]).is_err());
        assert!(apply(&mut t, &["duration_s.x=1".into()]).is_err());
    }
}
