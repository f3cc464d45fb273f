//! Embeds every neuron preset in models/neurons/*.toml, so the binary finds its models wherever
//! it runs and adding a preset is adding one file.

use std::fmt::Write;
use std::path::Path;

fn main() {
    let dir = Path::new("models/neurons");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".toml"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let mut code = String::from("/// (name, TOML text) of every preset in models/neurons.\npub const PRESETS: &[(&str, &str)] = &[\n");
    for n in names {
        println!("cargo:rerun-if-changed=models/neurons/{n}");
        let abs = std::fs::canonicalize(dir.join(&n)).expect("preset path");
        writeln!(
            code,
            "    ({:?}, include_str!({:?})),",
            n.trim_end_matches(".toml"),
            abs
        )
        .unwrap();
    }
    code.push_str("];\n");
    let out = std::env::var("OUT_DIR").expect("OUT_DIR");
    std::fs::write(Path::new(&out).join("presets.rs"), code).expect("write presets.rs");
}
