//! Experiment files for rate-model training: a flat TOML table, `--set KEY=VALUE` overrides
//! applied to the raw table before validation, unknown keys rejected with file and key.
//!
//! Keys (all dimensionless; learning rates are per step, errors are fractions):
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `epochs` | required | passes over the training set |
//! | `data_dir` | `"data/mnist"` | MNIST directory, relative to the working directory |
//! | `algorithm` | required | `burstccn`, `backprop`, `fa` or `burstprop` |
//! | `name`, `description` | file stem, "" | output directory name, free text |
//! | `hidden_layers`, `hidden_units` | 3, 500 | 784 → hidden… → 10 sigmoid network |
//! | `batch_size`, `test_batch_size` | 32, 1000 | examples per step / per test pass |
//! | `seed` | 1 | master seed (weights, example order) |
//! | `lr`, `momentum`, `weight_decay` | 0.1, 0, 0 | SGD on W and biases |
//! | `lr_schedule` | `"constant"` | `"cosine"`: every learning rate × ½(1 + cos(π·(epoch − 1)/epochs)) |
//! | `weight_gain` | 3.6 | Xavier-normal gain of W |
//! | `p_baseline` | 0.5 | baseline burst probability p_b |
//! | `y_mode`, `y_scale`, `y_learning`, `lr_y` | `random`, 1, false, 0 | burst feedback Y |
//! | `q_mode`, `q_scale`, `q_learning`, `lr_q` | `symmetric`, 1, false, 0 | event feedback Q (`random`, `symmetric`, `tied`, `w_symmetric`) |
//! | `recurrent`, `lr_recurrent`, `recurrent_scale` | true, 1e-4, 0.01 | Burstprop's W_r |
//! | `angle_interval` | 200 | batches between angle measurements (0: none) |
//! | `train_subset`, `test_subset` | 0 | use only the first N examples (0: all) |
//! | `sweep_layers` | none | depth sweep, e.g. `[2, 3, 4, 5, 6]` (input and output counted) |

use super::network::{Algorithm, ModelSpec, QMode, YMode};
use crate::config::units::ParamTable;
use crate::error::{Error, Result};
use crate::Real;
use std::path::{Path, PathBuf};

/// A validated training experiment.
#[derive(Clone, Debug)]
pub struct Experiment {
    /// Name for the default output directory (`name` key, else the file stem).
    pub name: String,
    /// The file it came from, for messages.
    pub file: String,
    pub epochs: usize,
    /// Directory with the four MNIST files (relative paths are relative to the working directory).
    pub data_dir: PathBuf,
    pub batch_size: usize,
    pub test_batch_size: usize,
    pub seed: u64,
    /// Measure angles every this many batches (0: never).
    pub angle_interval: usize,
    /// Use only the first N training / test examples (0: all).
    pub train_subset: usize,
    pub test_subset: usize,
    pub model: ModelSpec,
    pub lr_schedule: LrSchedule,
    /// Units per hidden layer (kept for depth sweeps, which may build nets with none).
    pub hidden_units: usize,
    /// Depth sweep: total layer counts including input and output (the paper's "5-layer" net is
    /// 784-500-500-500-10); empty for a single run.
    pub sweep_layers: Vec<usize>,
    /// The effective table (after `--set`), saved next to the results.
    pub table: toml::Table,
}

/// How the learning rates change over a run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LrSchedule {
    Constant,
    /// Cosine annealing without restarts (Loshchilov & Hutter 2017), stepped once per epoch:
    /// factor ½(1 + cos(π·(epoch − 1)/epochs)) for epochs 1…epochs, so the last epoch still
    /// learns. It scales W's, Q's, Y's and W_r's learning rates alike, as a PyTorch scheduler
    /// on one optimiser holding all of them would.
    Cosine,
}

impl LrSchedule {
    /// The learning-rate factor of `epoch` (1-based) in a run of `epochs`.
    pub fn factor(self, epoch: usize, epochs: usize) -> Real {
        match self {
            LrSchedule::Constant => 1.0,
            LrSchedule::Cosine => {
                let x = (epoch.saturating_sub(1)) as f64 / epochs.max(1) as f64;
                (0.5 * (1.0 + (std::f64::consts::PI * x).cos())) as Real
            }
        }
    }
}

/// Applies one `KEY=VALUE` override to `table`. KEY may be dotted; VALUE is read as a TOML
/// value (`2`, `0.1`, `true`, `[2, 3]`, `"x"`) or, failing that, taken as a string (paths).
pub fn apply_set(table: &mut toml::Table, assignment: &str, file: &str) -> Result<()> {
    let (key, value) = assignment.split_once('=').ok_or_else(|| {
        Error::config(
            file,
            assignment,
            "--set expects KEY=VALUE, e.g. --set epochs=2",
        )
    })?;
    let key = key.trim();
    let value = value.trim();
    let parsed = toml::from_str::<toml::Table>(&format!("v = {value}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(value.to_string()));
    let mut parts: Vec<&str> = key.split('.').collect();
    let last = parts
        .pop()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Error::config(file, key, "--set needs a key before `=`"))?;
    let mut cur = table;
    for (i, part) in parts.iter().enumerate() {
        let entry = cur
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        cur = entry.as_table_mut().ok_or_else(|| {
            Error::config(
                file,
                parts[..=i].join("."),
                "is not a table, so --set cannot set a key inside it",
            )
        })?;
    }
    cur.insert(last.to_string(), parsed);
    Ok(())
}

/// Reads `path`, applies `sets` in order, and validates.
pub fn load(path: &Path, sets: &[String]) -> Result<Experiment> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let file = path.display().to_string();
    let mut table: toml::Table = toml::from_str(&text).map_err(|e| Error::Parse {
        file: file.clone(),
        message: format!("not valid TOML: {e}"),
    })?;
    for s in sets {
        apply_set(&mut table, s, &file)?;
    }
    let stem = path.file_stem().map_or_else(
        || "experiment".to_string(),
        |s| s.to_string_lossy().into_owned(),
    );
    from_table(table, &file, &stem)
}

fn positive(t: &ParamTable, key: &str, default: u64) -> Result<usize> {
    let v = t.count(key, Some(default))?;
    if v == 0 {
        return Err(t.error(key, "must be ≥ 1"));
    }
    Ok(v as usize)
}

/// Validates an experiment table (`file` and `default_name` for messages and naming).
pub fn from_table(table: toml::Table, file: &str, default_name: &str) -> Result<Experiment> {
    let t = ParamTable::new(file, "", &table);
    let name = t.string("name", Some(default_name))?;
    t.string("description", Some(""))?;
    let epochs = t.count("epochs", None)? as usize;
    if epochs == 0 {
        return Err(t.error("epochs", "must be ≥ 1"));
    }
    let data_dir = PathBuf::from(t.string("data_dir", Some("data/mnist"))?);
    let alg_name = t.choice("algorithm", &Algorithm::NAMES, None)?;
    let algorithm = Algorithm::from_name(&alg_name).expect("choice() checked the name");
    let hidden_layers = t.count("hidden_layers", Some(3))? as usize;
    let hidden_units = positive(&t, "hidden_units", 500)?;
    let batch_size = positive(&t, "batch_size", 32)?;
    let test_batch_size = positive(&t, "test_batch_size", 1000)?;
    let seed = t.count("seed", Some(1))?;
    let angle_interval = t.count("angle_interval", Some(200))? as usize;
    let train_subset = t.count("train_subset", Some(0))? as usize;
    let test_subset = t.count("test_subset", Some(0))? as usize;
    let num =
        |key: &str, default: f64| -> Result<Real> { Ok(t.number(key, Some(default))? as Real) };
    let lr_schedule = match t
        .choice("lr_schedule", &["constant", "cosine"], Some("constant"))?
        .as_str()
    {
        "constant" => LrSchedule::Constant,
        _ => LrSchedule::Cosine,
    };
    let y_mode = match t
        .choice("y_mode", &["random", "symmetric", "tied"], Some("random"))?
        .as_str()
    {
        "random" => YMode::Random,
        "symmetric" => YMode::Symmetric,
        _ => YMode::Tied,
    };
    let q_mode = match t
        .choice(
            "q_mode",
            &["random", "symmetric", "tied", "w_symmetric"],
            Some("symmetric"),
        )?
        .as_str()
    {
        "random" => QMode::Random,
        "symmetric" => QMode::Symmetric,
        "tied" => QMode::Tied,
        _ => QMode::WSymmetric,
    };
    let mut sizes = vec![super::mnist::PIXELS];
    sizes.extend(std::iter::repeat_n(hidden_units, hidden_layers));
    sizes.push(super::mnist::CLASSES);
    let model = ModelSpec {
        sizes,
        algorithm,
        p_baseline: t.probability("p_baseline", Some(0.5))? as Real,
        lr: num("lr", 0.1)?,
        momentum: num("momentum", 0.0)?,
        weight_decay: num("weight_decay", 0.0)?,
        weight_gain: num("weight_gain", 3.6)?,
        y_mode,
        y_scale: num("y_scale", 1.0)?,
        y_learning: t.boolean("y_learning", Some(false))?,
        lr_y: num("lr_y", 0.0)?,
        q_mode,
        q_scale: num("q_scale", 1.0)?,
        q_learning: t.boolean("q_learning", Some(false))?,
        lr_q: num("lr_q", 0.0)?,
        recurrent: t.boolean("recurrent", Some(true))?,
        lr_recurrent: num("lr_recurrent", 1e-4)?,
        recurrent_scale: num("recurrent_scale", 0.01)?,
    };
    let sweep_layers = match t.get("sweep_layers") {
        None => Vec::new(),
        Some(toml::Value::Array(a)) => a
            .iter()
            .map(|v| match v {
                toml::Value::Integer(i) if *i >= 2 => Ok(*i as usize),
                _ => Err(t.error(
                    "sweep_layers",
                    format!("{v} is not a layer count ≥ 2 (input and output count)"),
                )),
            })
            .collect::<Result<_>>()?,
        Some(other) => {
            return Err(t.error(
                "sweep_layers",
                format!("expected a list such as [2, 3, 4, 5, 6], found {other}"),
            ))
        }
    };
    t.finish()?;
    model.validate(file)?;
    Ok(Experiment {
        name,
        file: file.to_string(),
        epochs,
        data_dir,
        batch_size,
        test_batch_size,
        seed,
        angle_interval,
        train_subset,
        test_subset,
        model,
        lr_schedule,
        hidden_units,
        sweep_layers,
        table,
    })
}

impl Experiment {
    /// The same experiment with `layers` total layers (input and output included).
    pub fn with_layers(&self, layers: usize) -> Experiment {
        let mut e = self.clone();
        let mut sizes = vec![e.model.sizes[0]];
        sizes.extend(std::iter::repeat_n(
            e.hidden_units,
            layers.saturating_sub(2),
        ));
        sizes.push(*e.model.sizes.last().expect("validated sizes are non-empty"));
        e.model.sizes = sizes;
        e.sweep_layers.clear();
        e.table.remove("sweep_layers");
        e.table.insert(
            "hidden_layers".into(),
            toml::Value::Integer(layers as i64 - 2),
        );
        e
    }
}

#[cfg(test)]
mod tests {
    use super::LrSchedule;

    #[test]
    fn cosine_starts_at_one_falls_monotonically_and_keeps_the_last_epoch_learning() {
        let f = |e| LrSchedule::Cosine.factor(e, 50);
        assert_eq!(f(1), 1.0);
        assert!((f(26) - 0.5).abs() < 1e-6);
        assert!((1..50).all(|e| f(e + 1) < f(e)));
        assert!(f(50) > 0.0 && f(50) < 0.01);
        assert_eq!(LrSchedule::Constant.factor(50, 50), 1.0);
    }
}
