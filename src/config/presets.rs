//! Neuron presets: the TOML files of models/neurons, embedded at build time (see build.rs).

include!(concat!(env!("OUT_DIR"), "/presets.rs"));

/// The TOML text of preset `name`.
pub fn preset(name: &str) -> Option<&'static str> {
    PRESETS.iter().find(|p| p.0 == name).map(|p| p.1)
}

/// Names of all presets.
pub fn names() -> Vec<&'static str> {
    PRESETS.iter().map(|p| p.0).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::units::ParamTable;
    use crate::neurons::model_kind;

    /// Every preset names a known model and every one of its keys is read by that model.
    #[test]
    fn every_preset_parses_completely() {
        for (name, text) in PRESETS {
            let mut table: toml::Table =
                toml::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            let kind = table
                .remove("model")
                .and_then(|m| m.as_str().map(str::to_string));
            let kind = model_kind(kind.as_deref().unwrap_or(""))
                .unwrap_or_else(|| panic!("{name}: model"));
            let t = ParamTable::new(name, "", &table);
            (kind.read)(&t, 1e-4).unwrap_or_else(|e| panic!("{name}: {e}"));
            t.finish().unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
}
