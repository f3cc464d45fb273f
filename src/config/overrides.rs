//! `--set key.path=value` edits of the raw TOML table, applied before validation.

use crate::error::{Error, Result};

/// Applies each `KEY=VALUE` of `sets` to `table`. VALUE is read as a TOML value ("2", "0.5",
/// "true", "[1, 2]", "\"50 ms\"") and taken as a plain string when it is not one ("50 ms").
pub fn apply(table: &mut toml::Table, sets: &[String]) -> Result<()> {
    // Work on a Value so that tables and arrays are walked alike; restore the table on any outcome.
    let mut root = toml::Value::Table(std::mem::take(table));
    let result = sets.iter().try_for_each(|set| apply_one(&mut root, set));
    if let toml::Value::Table(t) = root {
        *table = t;
    }
    result
}

fn apply_one(root: &mut toml::Value, set: &str) -> Result<()> {
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
    // Walk to the parent of the last part; a numeric part indexes an array ([[inputs]]).
    let mut node: &mut toml::Value = root;
    for part in &parts[..parts.len() - 1] {
        node = match node {
            toml::Value::Table(t) => t
                .entry(part.to_string())
                .or_insert_with(|| toml::Value::Table(toml::Table::new())),
            toml::Value::Array(a) => array_slot(a, part, key)?,
            _ => {
                return Err(Error::config(
                    "--set",
                    key,
                    format!("`{part}` is not a table, so it has no sub-keys"),
                ))
            }
        };
    }
    let last = parts[parts.len() - 1];
    match node {
        toml::Value::Table(t) => {
            t.insert(last.to_string(), value);
        }
        toml::Value::Array(a) => {
            let slot = array_slot(a, last, key)?;
            *slot = value;
        }
        _ => return Err(Error::config("--set", key, "the parent is not a table")),
    }
    Ok(())
}

/// Element `part` of the array `a` under `--set key`: a decimal index, or the `name` of a
/// table element (`inputs.output_offset.value` for the `[[inputs]]` with that name).
fn array_slot<'a>(a: &'a mut [toml::Value], part: &str, key: &str) -> Result<&'a mut toml::Value> {
    fn name(v: &toml::Value) -> Option<&str> {
        v.get("name").and_then(toml::Value::as_str)
    }
    let found = a
        .iter()
        .position(|v| name(v) == Some(part))
        .or_else(|| part.parse::<usize>().ok().filter(|&i| i < a.len()));
    if let Some(i) = found {
        return Ok(&mut a[i]);
    }
    let names: Vec<&str> = a.iter().filter_map(name).collect();
    let names = if names.is_empty() {
        String::new()
    } else {
        format!(" or one of the names {}", names.join(", "))
    };
    Err(Error::config(
        "--set",
        key,
        format!("`{part}` is not an index below {}{names}", a.len()),
    ))
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
        let mut t: toml::Table =
            toml::from_str("[[inputs]]\nvalue = 1\n[[inputs]]\nvalue = 2").unwrap();
        apply(&mut t, &["inputs.1.value=5".into()]).unwrap();
        assert_eq!(t["inputs"][1]["value"].as_integer(), Some(5));
        assert!(apply(&mut t, &["inputs.2.value=5".into()]).is_err());
        let mut t: toml::Table = toml::from_str(
            "[[inputs]]\nname = \"a\"\nvalue = 1\n[[inputs]]\nname = \"b\"\nvalue = 2",
        )
        .unwrap();
        apply(&mut t, &["inputs.b.value=7".into()]).unwrap();
        assert_eq!(t["inputs"][1]["value"].as_integer(), Some(7));
        let e = apply(&mut t, &["inputs.c.value=7".into()]).unwrap_err();
        assert!(e.to_string().contains("one of the names a, b"), "{e}");
    }
}
