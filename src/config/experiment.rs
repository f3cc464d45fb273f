//! An experiment file: raw TOML (with `--set` edits) → a validated [`Experiment`].
//!
//! Layout (every physical value carries its unit; see experiments/*.toml):
//! - top level: `name`, `description`, `duration_s`, `dt`, `seed`;
//! - `[populations.NAME]`: `model` (a preset of models/neurons or a model name), `size`,
//!   `params` (overrides of the preset), `background` (private Poisson sources);
//! - `[projections.NAME]`: `pre`, `post`, `target`, `receptor`, `connectivity`, `p` or
//!   `indegree`, `weight` (a number, or `{ dist = "uniform" | "normal" | "lognormal", ... }`
//!   drawn per synapse, see `weight_dist`), `delay`, `stp`, `stp_params`, `stp_initial_u`,
//!   `transmission`, `detector_lag_steps`, `plasticity` (see the table below);
//! - `[[inputs]]`: current injectors;
//! - `[record]`: which spikes, rates and state traces to record; `[summary]`: measurement window;
//! - `[protocol]`: a learning protocol (crate::experiment::protocol), which sets the duration;
//!   `[quick]`: `--set` edits applied by `burstccn learn --quick`;
//! - `[initial_weights]`: plastic weights from an earlier run's `weights.h5` (see
//!   [`InitialWeights`]).
//!
//! Projection transmission and what may go with it (spec/synapses.md §2–4, spec/plasticity.md §3):
//!
//! | `transmission` | delivery | `delay` | `stp` | `plasticity = { eta, tau_avg, … }` |
//! |---|---|---|---|---|
//! | `"all"` (default) | every spike, W·ε | 0.8 ms default | allowed | allowed: every spike transmitted with its STP efficacy, Ẽ counts presynaptic events only (crate::plasticity::burst_rule) |
//! | `"events_only"` | presynaptic events, W | immediate, no key | rejected | allowed: the reference's event-only plastic synapse |
//! | `"bursts_only"` | once per burst, W | immediate, no key | rejected | rejected |
//!
//! `detector_lag_steps` (8) is the lag of the presynaptic detector used by the filters and by
//! the plastic rule's presynaptic events. The keys of `plasticity` are those of [`BurstRule`]
//! (read by `burst_rule` below): `eta`, `tau_pre`, `tau_avg`, `baseline`, `p_b`, `e_min`,
//! `e_max`, `w_max`, `tau_hom`, `hom_rate_init`.

use super::overrides;
use super::presets;
use super::units::{require_non_negative, Dim, ParamTable};
use crate::analysis::readouts::{RateColumn, Readout, Signal};
use crate::engine::{NetworkSpec, PopulationSpec};
use crate::error::{Error, Result};
use crate::experiment::Protocol;
use crate::inputs::current::{Injector, Waveform};
use crate::inputs::poisson_drive::PoissonDrive;
use crate::neurons::{model_kind, Compartment, Receptor, MODELS};
use crate::plasticity::{Baseline, BurstRule};
use crate::synapses::connectivity::Rule;
use crate::synapses::projection::{ProjectionSpec, Transmission};
use crate::synapses::stp::StpParams;
use crate::synapses::Weight;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Default axonal delay of standard connections, s [AUR auryn_definitions.h MINDELAY = 8].
pub const DEFAULT_DELAY: f64 = 0.8e-3;

/// A state variable of selected neurons, sampled at an interval.
#[derive(Clone, Debug)]
pub struct TraceSpec {
    pub population: usize,
    pub neurons: Vec<u32>,
    /// (name, index in the model's state list).
    pub variables: Vec<(String, usize)>,
    pub interval_steps: u64,
}

/// What to record.
#[derive(Clone, Debug)]
pub struct RecordSpec {
    /// Populations whose spikes go to spikes.h5.
    pub spikes: Vec<usize>,
    /// Bin of the online event/burst rates, s.
    pub rate_bin: f64,
    /// Populations with binned rates.
    pub rates: Vec<usize>,
    pub traces: Vec<TraceSpec>,
    /// Short-term-plasticity state (x, u) of presynaptic neurons of a projection.
    pub stp: Vec<StpTraceSpec>,
}

/// The STP state of selected presynaptic neurons of a projection, sampled at an interval.
#[derive(Clone, Debug)]
pub struct StpTraceSpec {
    pub projection: usize,
    pub neurons: Vec<u32>,
    pub interval_steps: u64,
}

/// A list of neuron indices below `size` under `key`.
fn neuron_list(t: &ParamTable, key: &str, size: usize) -> Result<Vec<u32>> {
    let list = t
        .get(key)
        .and_then(|v| v.as_array())
        .ok_or_else(|| t.error(key, "expected a list of neuron indices"))?;
    list.iter()
        .map(|x| match x.as_integer() {
            Some(i) if i >= 0 && (i as usize) < size => Ok(i as u32),
            _ => Err(t.error(key, format!("{x} is not an index in 0..{size}"))),
        })
        .collect()
}

/// A validated experiment.
#[derive(Debug)]
pub struct Experiment {
    /// The file it came from, as given.
    pub file: String,
    pub name: String,
    pub description: String,
    /// Simulated duration, s.
    pub duration: f64,
    pub seed: u64,
    pub network: NetworkSpec,
    pub record: RecordSpec,
    /// Start of the window over which summary rates are measured, s.
    pub summary_start: f64,
    /// Readouts computed at the end of the run, by name.
    pub readouts: Vec<(String, Readout)>,
    /// Named inputs (`name` key of `[[inputs]]`), for readouts.
    pub input_names: BTreeMap<String, Waveform>,
    /// Index in `network.injectors` of every named input, for figures.
    pub input_injectors: BTreeMap<String, usize>,
    /// The learning protocol (`[protocol]`), run by `burstccn learn`; it sets `duration`.
    pub protocol: Option<Protocol>,
    /// Weights of plastic projections read from a weight file (`[initial_weights]`), set after
    /// the network is built.
    pub initial_weights: Option<InitialWeights>,
    /// The resolved raw table (after `--set`), written to the run directory as config.toml.
    pub resolved: toml::Table,
}

/// `[initial_weights]`: `file` (a `weights.h5` of an earlier run, relative to the experiment
/// file) and `snapshot` (a dataset of its group `0`, default `syn_weight`, the final weights).
/// Every edge population of the file must be a plastic projection of the experiment, with the
/// same synapses (same populations, connectivity and seed); the others keep their `weight`.
#[derive(Clone, Debug)]
pub struct InitialWeights {
    pub path: PathBuf,
    pub snapshot: String,
    /// Each projection's index with its synapses and weights.
    pub projections: Vec<(usize, crate::recording::edges::EdgeWeights)>,
}

/// Reads `path`, applies `sets`, and validates.
pub fn load(path: &Path, sets: &[String]) -> Result<Experiment> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse(&path.display().to_string(), path.parent(), &text, sets)
}

/// Parses experiment text; `dir` resolves relative input files.
pub fn parse(file: &str, dir: Option<&Path>, text: &str, sets: &[String]) -> Result<Experiment> {
    let mut raw: toml::Table = toml::from_str(text).map_err(|e| Error::Parse {
        file: file.to_string(),
        message: format!("not valid TOML: {}", e.to_string().trim()),
    })?;
    overrides::apply(&mut raw, sets)?;
    let top = ParamTable::new(file, "", &raw);
    let default_name = Path::new(file)
        .file_stem()
        .map_or("experiment".to_string(), |s| {
            s.to_string_lossy().into_owned()
        });
    let name = top.string("name", Some(&default_name))?;
    let description = top.string("description", Some(""))?;
    // A protocol sets the duration itself (crate::experiment::protocol).
    let protocol_value = top.get("protocol");
    if protocol_value.is_some() && top.get("duration_s").is_some() {
        return Err(top.error(
            "duration_s",
            "the [protocol] sets the duration; remove duration_s",
        ));
    }
    // Read by `burstccn learn --quick` (crate::experiment::quick_sets).
    top.get("quick");
    let mut duration = match protocol_value {
        Some(_) => f64::INFINITY,
        None => top.number("duration_s", None)?,
    };
    if duration <= 0.0 || duration.is_nan() {
        return Err(top.error(
            "duration_s",
            format!("{duration} is not a positive duration in seconds"),
        ));
    }
    let dt = top.quantity("dt", Dim::Time, Some(1e-4))?;
    require_non_negative(&top, "dt", dt, true)?;
    let seed = top.count("seed", Some(1))?;

    let mut b = Builder {
        file,
        dir: dir.map(Path::to_path_buf),
        dt,
        pops: Vec::new(),
        projections: Vec::new(),
        drives: Vec::new(),
    };
    let pops = table_of(&top, "populations")?;
    if pops.is_empty() {
        return Err(top.error(
            "populations",
            "no population is defined; add a [populations.NAME] table",
        ));
    }
    for (pname, value) in pops {
        b.population(pname, value)?;
    }
    for (jname, value) in table_of(&top, "projections")? {
        b.projection(jname, value)?;
    }
    let mut injectors = Vec::new();
    let mut input_names = BTreeMap::new();
    let mut input_injectors = BTreeMap::new();
    if let Some(list) = top.get("inputs") {
        let list = list.as_array().ok_or_else(|| {
            top.error("inputs", "expected an array of tables, written [[inputs]]")
        })?;
        for (i, item) in list.iter().enumerate() {
            let (inj, name) = b.input(i, item)?;
            if let Some(name) = name {
                if input_names
                    .insert(name.clone(), inj.waveform.clone())
                    .is_some()
                {
                    let key = format!("inputs[{i}].name");
                    return Err(Error::config(
                        file,
                        key,
                        format!("\"{name}\" names two inputs"),
                    ));
                }
                input_injectors.insert(name, injectors.len());
            }
            injectors.push(inj);
        }
    }
    let record = b.record(top.get("record"))?;
    let protocol = match protocol_value {
        None => None,
        Some(v) => {
            let p = Protocol::parse(file, v, &b.pops, &b.projections, dt, record.rate_bin)?;
            duration = p.total_steps() as f64 * dt;
            Some(p)
        }
    };
    let mut readouts = Vec::new();
    for (rname, value) in table_of(&top, "readouts")? {
        let r = b.readout(rname, value, duration, &record, &input_names)?;
        readouts.push((rname.to_string(), r));
    }
    let summary_start = match top.get("summary") {
        None => 0.0,
        Some(v) => {
            let t = sub_table(file, "summary", v)?;
            let start = t.quantity("start", Dim::Time, Some(0.0))?;
            require_non_negative(&t, "start", start, false)?;
            t.finish()?;
            // A run shortened below its burn-in (--set duration_s=...) is measured whole.
            if start < duration {
                start
            } else {
                0.0
            }
        }
    };
    let initial_weights = match top.get("initial_weights") {
        None => None,
        Some(v) => Some(b.initial_weights(sub_table(file, "initial_weights", v)?)?),
    };
    top.finish()?;

    let network = NetworkSpec {
        dt,
        seed,
        populations: b.pops,
        projections: b.projections,
        injectors,
        drives: b.drives,
    };
    Ok(Experiment {
        file: file.to_string(),
        name,
        description,
        duration,
        seed,
        network,
        record,
        summary_start,
        readouts,
        input_names,
        input_injectors,
        protocol,
        initial_weights,
        resolved: raw,
    })
}

/// The sub-table `key` of `t`, or an empty table when absent.
fn table_of<'a>(t: &ParamTable<'a>, key: &str) -> Result<Vec<(&'a str, &'a toml::Value)>> {
    match t.get(key) {
        None => Ok(Vec::new()),
        Some(toml::Value::Table(tab)) => Ok(tab.iter().map(|(k, v)| (k.as_str(), v)).collect()),
        Some(_) => Err(t.error(key, "expected a table")),
    }
}

fn sub_table<'a>(file: &'a str, key: &str, v: &'a toml::Value) -> Result<ParamTable<'a>> {
    match v {
        toml::Value::Table(t) => Ok(ParamTable::new(file, key, t)),
        _ => Err(Error::config(file, key, "expected a table")),
    }
}

struct Builder<'a> {
    file: &'a str,
    dir: Option<PathBuf>,
    dt: f64,
    pops: Vec<PopulationSpec>,
    projections: Vec<(ProjectionSpec, Option<StpParams>)>,
    drives: Vec<PoissonDrive>,
}

impl Builder<'_> {
    /// `[initial_weights]`: reads the snapshot and checks that it names plastic projections.
    fn initial_weights(&self, t: ParamTable) -> Result<InitialWeights> {
        let rel = t.string("file", None)?;
        let path = match &self.dir {
            Some(d) if Path::new(&rel).is_relative() => d.join(&rel),
            _ => PathBuf::from(&rel),
        };
        let snapshot = t.string("snapshot", Some(crate::recording::edges::FINAL))?;
        t.finish_ref()?;
        let read = crate::recording::edges::read_snapshot(&path, &snapshot).map_err(|e| {
            t.error(
                "file",
                format!("{e}; give the weights.h5 of an earlier run and one of its snapshots"),
            )
        })?;
        let mut projections = Vec::with_capacity(read.len());
        for edges in read {
            let name = &edges.projection;
            let k = self
                .projections
                .iter()
                .position(|(p, _)| &p.name == name && p.plasticity.is_some())
                .ok_or_else(|| {
                    t.error(
                        "file",
                        format!("{} holds weights of `{name}`, which is not a plastic projection of this experiment", path.display()),
                    )
                })?;
            projections.push((k, edges));
        }
        Ok(InitialWeights {
            path,
            snapshot,
            projections,
        })
    }

    fn pop_index(&self, t: &ParamTable, key: &str) -> Result<usize> {
        let name = t.string(key, None)?;
        self.pops
            .iter()
            .position(|p| p.name == name)
            .ok_or_else(|| {
                let known: Vec<&str> = self.pops.iter().map(|p| p.name.as_str()).collect();
                t.error(
                    key,
                    format!(
                        "no population is called \"{name}\"; defined: {}",
                        known.join(", ")
                    ),
                )
            })
    }

    fn steps(&self, t: &ParamTable, key: &str, seconds: f64) -> Result<usize> {
        let steps = seconds / self.dt;
        if (steps - steps.round()).abs() > 1e-6 * steps.max(1.0) {
            return Err(t.error(
                key,
                format!(
                    "{} ms is not a multiple of dt = {} ms",
                    seconds * 1e3,
                    self.dt * 1e3
                ),
            ));
        }
        Ok(steps.round() as usize)
    }

    fn population(&mut self, name: &str, value: &toml::Value) -> Result<()> {
        let key = format!("populations.{name}");
        let t = sub_table(self.file, &key, value)?;
        if name.is_empty() || name.contains(['/', '.', ' ']) {
            return Err(t.error(
                "",
                "population names must be non-empty without '/', '.' or spaces",
            ));
        }
        let model_name = t.string("model", None)?;
        let size = t.count("size", None)? as usize;
        if size == 0 || size > u32::MAX as usize {
            return Err(t.error("size", "must be between 1 and 4294967295 neurons"));
        }
        // The preset's table, overlaid with `params`.
        let (kind, mut params) = match presets::preset(&model_name) {
            Some(text) => {
                let mut table: toml::Table = toml::from_str(text).map_err(|e| Error::Parse {
                    file: format!("models/neurons/{model_name}.toml"),
                    message: e.to_string(),
                })?;
                let kind = table
                    .remove("model")
                    .and_then(|m| m.as_str().map(str::to_string));
                (kind.unwrap_or_default(), table)
            }
            None => (model_name.clone(), toml::Table::new()),
        };
        let kind = model_kind(&kind).ok_or_else(|| {
            let kinds: Vec<&str> = MODELS.iter().map(|m| m.name).collect();
            t.error(
                "model",
                format!(
                    "\"{model_name}\" is neither a preset ({}) nor a model ({})",
                    presets::names().join(", "),
                    kinds.join(", ")
                ),
            )
        })?;
        if let Some(v) = t.get("params") {
            let over = v
                .as_table()
                .ok_or_else(|| t.error("params", "expected a table of parameter overrides"))?;
            params.extend(over.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        let pt = ParamTable::new(self.file, format!("{key}.params"), &params);
        let model = (kind.read)(&pt, self.dt)?;
        pt.finish()?;
        let background = t.get("background").cloned();
        t.finish()?;
        self.pops.push(PopulationSpec {
            name: name.to_string(),
            size,
            model_name,
            model: model.into(),
        });
        if let Some(bg) = background {
            self.background(name, self.pops.len() - 1, &bg)?;
        }
        Ok(())
    }

    /// Private Poisson background: per compartment, one excitatory and one inhibitory source per
    /// neuron (spec/synapses.md §6), generated in place ([`PoissonDrive`]).
    fn background(&mut self, name: &str, p: usize, value: &toml::Value) -> Result<()> {
        let key = format!("populations.{name}.background");
        let t = sub_table(self.file, &key, value)?;
        for comp in [Compartment::Soma, Compartment::Dendrite] {
            let Some(v) = t.get(comp.name()) else {
                continue;
            };
            let ct = sub_table(self.file, &t.key(comp.name()), v)?;
            if !self.pops[p].model.compartments().contains(&comp) {
                let model = &self.pops[p].model_name;
                return Err(t.error(
                    comp.name(),
                    format!("model \"{model}\" has no {}", comp.name()),
                ));
            }
            let rate = ct.quantity("rate", Dim::Frequency, None)?;
            require_non_negative(&ct, "rate", rate, false)?;
            if rate * self.dt > 1.0 {
                return Err(ct.error(
                    "rate",
                    format!("{rate} Hz exceeds one spike per step (1/dt)"),
                ));
            }
            for (rkey, receptor) in [
                ("excitatory", Receptor::Excitatory),
                ("inhibitory", Receptor::Inhibitory),
            ] {
                let weight = ct.number(rkey, Some(0.0))?;
                require_non_negative(&ct, rkey, weight, false)?;
                if weight > 0.0 {
                    self.drives.push(PoissonDrive {
                        population: p,
                        compartment: comp,
                        receptor,
                        rate,
                        weight,
                    });
                }
            }
            ct.finish()?;
        }
        t.finish()
    }

    fn projection(&mut self, name: &str, value: &toml::Value) -> Result<()> {
        let t = sub_table(self.file, &format!("projections.{name}"), value)?;
        let pre = self.pop_index(&t, "pre")?;
        let post = self.pop_index(&t, "post")?;
        let post_pop = &self.pops[post];
        if post_pop.model.is_source() {
            return Err(t.error(
                "post",
                format!(
                    "\"{}\" is a spike source and takes no synapses",
                    post_pop.name
                ),
            ));
        }
        let comp_name = t.choice("target", &["soma", "dendrite"], Some("soma"))?;
        let compartment = if comp_name == "soma" {
            Compartment::Soma
        } else {
            Compartment::Dendrite
        };
        if !post_pop.model.compartments().contains(&compartment) {
            return Err(t.error(
                "target",
                format!(
                    "model \"{}\" has no {comp_name}; use soma",
                    post_pop.model_name
                ),
            ));
        }
        let receptor = match t
            .choice("receptor", &["excitatory", "inhibitory"], None)?
            .as_str()
        {
            "excitatory" => Receptor::Excitatory,
            _ => Receptor::Inhibitory,
        };
        let (n_pre, n_post) = (self.pops[pre].size, post_pop.size);
        let rule = match t
            .choice(
                "connectivity",
                &["pairwise", "fixed_indegree", "one_to_one", "all_to_all"],
                None,
            )?
            .as_str()
        {
            "pairwise" => Rule::Pairwise {
                p: t.probability("p", None)?,
            },
            "fixed_indegree" => {
                let k = t.count("indegree", None)? as usize;
                let pool = if pre == post { n_pre - 1 } else { n_pre };
                if k > pool {
                    return Err(t.error(
                        "indegree",
                        format!("{k} exceeds the {pool} available sources"),
                    ));
                }
                Rule::FixedIndegree { k }
            }
            "one_to_one" => {
                if n_pre != n_post {
                    return Err(t.error(
                        "connectivity",
                        format!("one_to_one needs equal sizes, found {n_pre} → {n_post}"),
                    ));
                }
                Rule::OneToOne
            }
            _ => Rule::AllToAll,
        };
        let weight = match t.get("weight") {
            Some(v @ toml::Value::Table(_)) => {
                weight_dist(&sub_table(self.file, &t.key("weight"), v)?)?
            }
            _ => {
                let w = t.number("weight", None)?;
                require_non_negative(&t, "weight", w, false)?;
                Weight::Fixed(w)
            }
        };
        let transmission = match t
            .choice(
                "transmission",
                &["all", "events_only", "bursts_only"],
                Some("all"),
            )?
            .as_str()
        {
            "all" => Transmission::All,
            "events_only" => Transmission::EventsOnly,
            _ => Transmission::BurstsOnly,
        };
        let delay = if transmission.filtered() {
            if t.get("delay").is_some() {
                return Err(t.error(
                    "delay",
                    "events_only and bursts_only transmission is immediate; remove the delay",
                ));
            }
            0
        } else {
            let d = t.quantity("delay", Dim::Time, Some(DEFAULT_DELAY))?;
            require_non_negative(&t, "delay", d, false)?;
            self.steps(&t, "delay", d)?
        };
        let detector_lag = t.count("detector_lag_steps", Some(8))? as usize;
        let stp = self.stp(&t)?;
        let plasticity = match t.get("plasticity") {
            None => None,
            Some(v) => {
                if transmission == Transmission::BurstsOnly {
                    return Err(t.error(
                        "transmission",
                        "a plastic projection transmits presynaptic events (\"events_only\") or every spike (\"all\", optionally with stp); bursts_only would hide the events its rule learns from",
                    ));
                }
                Some(burst_rule(&sub_table(self.file, &t.key("plasticity"), v)?)?)
            }
        };
        if stp.is_some() && transmission.filtered() {
            return Err(t.error(
                "stp",
                "short-term plasticity applies to transmission = \"all\" only",
            ));
        }
        t.finish()?;
        self.projections.push((
            ProjectionSpec {
                name: name.to_string(),
                pre,
                post,
                compartment,
                receptor,
                rule,
                weight,
                delay,
                stp: None,
                transmission,
                detector_lag,
                plasticity,
            },
            stp,
        ));
        Ok(())
    }

    fn stp(&self, t: &ParamTable) -> Result<Option<StpParams>> {
        let kind = t.choice(
            "stp",
            &["none", "depressing", "facilitating", "custom"],
            Some("none"),
        )?;
        let mut params = match kind.as_str() {
            "none" => {
                for k in ["stp_params", "stp_initial_u"] {
                    if t.get(k).is_some() {
                        return Err(t.error(
                            k,
                            "only allowed with stp = depressing, facilitating or custom",
                        ));
                    }
                }
                return Ok(None);
            }
            "depressing" => StpParams::DEPRESSING,
            "facilitating" => StpParams::FACILITATING,
            _ => {
                let v = t.get("stp_params").ok_or_else(|| {
                    t.error(
                        "stp_params",
                        "stp = \"custom\" needs stp_params = { U, f, tau_d, tau_f }",
                    )
                })?;
                let s = sub_table(self.file, &t.key("stp_params"), v)?;
                let p = StpParams {
                    u_base: s.probability("U", None)?,
                    f: s.probability("f", None)?,
                    tau_d: s.quantity("tau_d", Dim::Time, None)?,
                    tau_f: s.quantity("tau_f", Dim::Time, None)?,
                    u_init: 0.01,
                };
                require_non_negative(&s, "tau_d", p.tau_d, true)?;
                require_non_negative(&s, "tau_f", p.tau_f, true)?;
                s.finish()?;
                p
            }
        };
        if kind != "custom" && t.get("stp_params").is_some() {
            return Err(t.error("stp_params", "only allowed with stp = \"custom\""));
        }
        params.u_init = match t.get("stp_initial_u") {
            None => 0.01,
            Some(toml::Value::String(s)) if s == "U" => params.u_base,
            Some(_) => t.probability("stp_initial_u", None)?,
        };
        Ok(Some(params))
    }

    fn input(&self, i: usize, value: &toml::Value) -> Result<(Injector, Option<String>)> {
        let t = sub_table(self.file, &format!("inputs[{i}]"), value)?;
        let name = t.get("name").map(|_| t.string("name", None)).transpose()?;
        let population = self.pop_index(&t, "population")?;
        let pop = &self.pops[population];
        let comp_name = t.choice("compartment", &["soma", "dendrite"], Some("soma"))?;
        let compartment = if comp_name == "soma" {
            Compartment::Soma
        } else {
            Compartment::Dendrite
        };
        if !pop.model.compartments().contains(&compartment) {
            return Err(t.error(
                "compartment",
                format!("model \"{}\" has no {comp_name}", pop.model_name),
            ));
        }
        let waveform = match t
            .choice("kind", &["constant", "sine", "schedule", "csv"], None)?
            .as_str()
        {
            "constant" => Waveform::Constant(t.quantity("value", Dim::Current, None)?),
            "sine" => {
                let start = t.quantity("start", Dim::Time, Some(0.0))?;
                let stop = t.quantity("stop", Dim::Time, Some(f64::INFINITY))?;
                let frequency = match (t.get("frequency"), t.get("period")) {
                    (Some(_), None) => t.quantity("frequency", Dim::Frequency, None)?,
                    (None, Some(_)) => {
                        let period = t.quantity("period", Dim::Time, None)?;
                        require_non_negative(&t, "period", period, true)?;
                        1.0 / period
                    }
                    _ => {
                        return Err(t.error("frequency", "give exactly one of frequency and period"))
                    }
                };
                Waveform::Sine {
                    amplitude: t.quantity("amplitude", Dim::Current, None)?,
                    frequency,
                    start,
                    stop,
                }
            }
            "schedule" => {
                let times = self.list(&t, "times", Dim::Time)?;
                let values = self.list(&t, "values", Dim::Current)?;
                if times.len() != values.len() || times.is_empty() {
                    return Err(t.error(
                        "values",
                        "times and values must be non-empty lists of equal length",
                    ));
                }
                if times.windows(2).any(|w| w[1] <= w[0]) {
                    return Err(t.error("times", "times must increase"));
                }
                Waveform::Schedule { times, values }
            }
            _ => {
                let rel = t.string("file", None)?;
                let path = match &self.dir {
                    Some(d) if Path::new(&rel).is_relative() => d.join(&rel),
                    _ => PathBuf::from(&rel),
                };
                read_csv(&path).map_err(|m| t.error("file", format!("{}: {m}", path.display())))?
            }
        };
        let neurons = match t.get("neurons") {
            None => None,
            Some(_) => {
                let mut ids = neuron_list(&t, "neurons", pop.size)?;
                ids.sort_unstable();
                ids.dedup();
                Some(ids)
            }
        };
        t.finish()?;
        Ok((
            Injector {
                population,
                compartment,
                waveform,
                neurons,
                per_neuron: None,
            },
            name,
        ))
    }

    fn signal(
        &self,
        t: &ParamTable,
        key: &str,
        record: &RecordSpec,
        inputs: &BTreeMap<String, Waveform>,
    ) -> Result<Signal> {
        let text = t.string(key, None)?;
        let (head, tail) = text.split_once('.').ok_or_else(|| {
            t.error(key, format!("\"{text}\" should be POPULATION.event_rate (or .burst_rate, .burst_probability, .rate) or input.NAME"))
        })?;
        if head == "input" {
            if !inputs.contains_key(tail) {
                let known: Vec<&str> = inputs.keys().map(String::as_str).collect();
                return Err(t.error(
                    key,
                    format!(
                        "no input is named \"{tail}\"; named inputs: {}",
                        known.join(", ")
                    ),
                ));
            }
            return Ok(Signal::Input(tail.to_string()));
        }
        let p = self
            .pops
            .iter()
            .position(|p| p.name == head)
            .ok_or_else(|| t.error(key, format!("no population is called \"{head}\"")))?;
        if !record.rates.contains(&p) {
            return Err(t.error(
                key,
                format!(
                    "population \"{head}\" has no binned rates; add it to record.rate_populations"
                ),
            ));
        }
        let col = RateColumn::parse(tail).ok_or_else(|| {
            t.error(
                key,
                format!("\"{tail}\" is not one of event_rate, burst_rate, burst_probability, rate"),
            )
        })?;
        Ok(Signal::Rate(head.to_string(), col))
    }

    fn readout(
        &self,
        name: &str,
        value: &toml::Value,
        duration: f64,
        record: &RecordSpec,
        inputs: &BTreeMap<String, Waveform>,
    ) -> Result<Readout> {
        let t = sub_table(self.file, &format!("readouts.{name}"), value)?;
        let window = |t: &ParamTable| -> Result<(f64, f64)> {
            let from = t.quantity("from", Dim::Time, Some(0.0))?;
            let to = t.quantity("to", Dim::Time, Some(duration))?;
            if from >= to {
                return Err(t.error("to", "must be after `from`"));
            }
            if to - from < record.rate_bin {
                return Err(t.error(
                    "to",
                    format!(
                        "the window is shorter than one rate bin ({} s)",
                        record.rate_bin
                    ),
                ));
            }
            Ok((from, to))
        };
        let r = match t
            .choice("kind", &["mean", "correlation", "levels"], None)?
            .as_str()
        {
            "mean" => {
                let signal = self.signal(&t, "signal", record, inputs)?;
                if matches!(signal, Signal::Input(_)) {
                    return Err(t.error("signal", "a mean needs a population signal"));
                }
                let (from, to) = window(&t)?;
                Readout::Mean { signal, from, to }
            }
            "correlation" => {
                let a = self.signal(&t, "a", record, inputs)?;
                let b = self.signal(&t, "b", record, inputs)?;
                if matches!((&a, &b), (Signal::Input(_), Signal::Input(_))) {
                    return Err(t.error("a", "at least one of a and b must be a population signal"));
                }
                let (from, to) = window(&t)?;
                let max_lag = t.quantity("max_lag", Dim::Time, Some(0.0))?;
                require_non_negative(&t, "max_lag", max_lag, false)?;
                Readout::Correlation {
                    a,
                    b,
                    from,
                    to,
                    max_lag,
                }
            }
            _ => {
                let population = t.string("population", None)?;
                let p = self.pops.iter().position(|p| p.name == population);
                if !p.is_some_and(|p| record.rates.contains(&p)) {
                    return Err(t.error(
                        "population",
                        format!("\"{population}\" is not a population with binned rates"),
                    ));
                }
                let start = t.quantity("start", Dim::Time, Some(0.0))?;
                let level = t.quantity("duration", Dim::Time, None)?;
                require_non_negative(&t, "duration", level, true)?;
                let count = t.count("count", None)? as usize;
                let last = t.quantity("last", Dim::Time, Some(level))?;
                if last <= 0.0 || last > level {
                    return Err(t.error("last", "must lie in (0, duration]"));
                }
                if start + count as f64 * level > duration + 1e-9 {
                    return Err(t.error(
                        "count",
                        "the levels run past the end of the run (duration_s)",
                    ));
                }
                Readout::Levels {
                    population,
                    start,
                    duration: level,
                    count,
                    last,
                }
            }
        };
        t.finish()?;
        Ok(r)
    }

    fn list(&self, t: &ParamTable, key: &str, dim: Dim) -> Result<Vec<f64>> {
        let v = t.get(key).ok_or_else(|| {
            t.error(
                key,
                format!("is missing; expected a list of {}", dim.describe()),
            )
        })?;
        let arr = v
            .as_array()
            .ok_or_else(|| t.error(key, "expected a list"))?;
        arr.iter().map(|x| t.value_quantity(key, x, dim)).collect()
    }

    fn record(&self, value: Option<&toml::Value>) -> Result<RecordSpec> {
        let empty = toml::Value::Table(toml::Table::new());
        let t = sub_table(self.file, "record", value.unwrap_or(&empty))?;
        let neurons: Vec<usize> = (0..self.pops.len())
            .filter(|&p| !self.pops[p].model.is_source())
            .collect();
        let pick = |key: &str| -> Result<Vec<usize>> {
            match t.get(key) {
                None => Ok(neurons.clone()),
                Some(v) => {
                    let arr = v
                        .as_array()
                        .ok_or_else(|| t.error(key, "expected a list of population names"))?;
                    arr.iter()
                        .map(|x| {
                            let n = x.as_str().unwrap_or_default();
                            self.pops
                                .iter()
                                .position(|p| p.name == n)
                                .ok_or_else(|| t.error(key, format!("no population is called {x}")))
                        })
                        .collect()
                }
            }
        };
        let spikes = pick("spikes")?;
        let rates: Vec<usize> = pick("rate_populations")?;
        if let Some(&p) = rates.iter().find(|&&p| self.pops[p].model.is_source()) {
            return Err(t.error(
                "rate_populations",
                format!(
                    "\"{}\" is a spike source; event and burst rates need neurons",
                    self.pops[p].name
                ),
            ));
        }
        let rate_bin = t.quantity("rate_bin", Dim::Time, Some(0.05))?;
        require_non_negative(&t, "rate_bin", rate_bin, true)?;
        self.steps(&t, "rate_bin", rate_bin)?;
        let mut traces = Vec::new();
        if let Some(v) = t.get("traces") {
            let arr = v.as_array().ok_or_else(|| {
                t.error(
                    "traces",
                    "expected an array of tables, written [[record.traces]]",
                )
            })?;
            for (i, item) in arr.iter().enumerate() {
                let tt = sub_table(self.file, &format!("record.traces[{i}]"), item)?;
                let population = self.pop_index(&tt, "population")?;
                let pop = &self.pops[population];
                let names = pop.model.state_names();
                let mut variables = Vec::new();
                let vars = tt
                    .get("variables")
                    .and_then(|v| v.as_array())
                    .ok_or_else(|| {
                        tt.error("variables", "expected a list of state variable names")
                    })?;
                for v in vars {
                    let n = v.as_str().unwrap_or_default();
                    let idx = names.iter().position(|&x| x == n).ok_or_else(|| {
                        tt.error(
                            "variables",
                            format!(
                                "{v} is not a state variable of \"{}\"; known: {}",
                                pop.model_name,
                                names.join(", ")
                            ),
                        )
                    })?;
                    variables.push((n.to_string(), idx));
                }
                let ids = neuron_list(&tt, "neurons", pop.size)?;
                let interval = tt.quantity("interval", Dim::Time, Some(self.dt))?;
                require_non_negative(&tt, "interval", interval, true)?;
                let interval_steps = self.steps(&tt, "interval", interval)? as u64;
                tt.finish()?;
                traces.push(TraceSpec {
                    population,
                    neurons: ids,
                    variables,
                    interval_steps,
                });
            }
        }
        let mut stp = Vec::new();
        if let Some(v) = t.get("stp") {
            let arr = v.as_array().ok_or_else(|| {
                t.error("stp", "expected an array of tables, written [[record.stp]]")
            })?;
            for (i, item) in arr.iter().enumerate() {
                let st = sub_table(self.file, &format!("record.stp[{i}]"), item)?;
                let name = st.string("projection", None)?;
                let k = self
                    .projections
                    .iter()
                    .position(|p| p.0.name == name)
                    .ok_or_else(|| {
                        st.error("projection", format!("no projection is called \"{name}\""))
                    })?;
                if self.projections[k].1.is_none() {
                    return Err(st.error(
                        "projection",
                        format!("\"{name}\" has no short-term plasticity"),
                    ));
                }
                let pre = self.projections[k].0.pre;
                let neurons = neuron_list(&st, "neurons", self.pops[pre].size)?;
                let interval = st.quantity("interval", Dim::Time, Some(self.dt))?;
                require_non_negative(&st, "interval", interval, true)?;
                let interval_steps = self.steps(&st, "interval", interval)? as u64;
                st.finish()?;
                stp.push(StpTraceSpec {
                    projection: k,
                    neurons,
                    interval_steps,
                });
            }
        }
        t.finish()?;
        Ok(RecordSpec {
            spikes,
            rate_bin,
            rates,
            traces,
            stp,
        })
    }
}

/// Reads the burst-dependent rule of a plastic projection (spec/plasticity.md §3–5).
/// A projection's `weight = { dist = ..., ... }`: uniform (`min`, `max`), normal (`mean`, `sd`)
/// or lognormal (`mean`, `sd` of the weight), drawn per synapse (crate::synapses::weights).
fn weight_dist(t: &ParamTable) -> Result<Weight> {
    let param = |key: &str, positive: bool| -> Result<f64> {
        let x = t.number(key, None)?;
        require_non_negative(t, key, x, positive)?;
        Ok(x)
    };
    let w = match t
        .choice("dist", &["uniform", "normal", "lognormal"], None)?
        .as_str()
    {
        "uniform" => {
            let (min, max) = (param("min", false)?, param("max", false)?);
            if max < min {
                return Err(t.error("max", format!("{max} is below min = {min}")));
            }
            Weight::Uniform { min, max }
        }
        "normal" => Weight::Normal {
            mean: param("mean", false)?,
            sd: param("sd", false)?,
        },
        _ => Weight::LogNormal {
            mean: param("mean", true)?,
            sd: param("sd", false)?,
        },
    };
    t.finish_ref()?;
    Ok(w)
}

fn burst_rule(t: &ParamTable) -> Result<BurstRule> {
    let eta = t.number("eta", None)?;
    require_non_negative(t, "eta", eta, false)?;
    let tau_pre = t.quantity("tau_pre", Dim::Time, Some(0.1))?;
    require_non_negative(t, "tau_pre", tau_pre, true)?;
    let tau_avg = t.quantity("tau_avg", Dim::Time, None)?;
    require_non_negative(t, "tau_avg", tau_avg, true)?;
    let baseline = match t
        .choice(
            "baseline",
            &["moving_average", "constant"],
            Some("moving_average"),
        )?
        .as_str()
    {
        "constant" => Baseline::Constant(t.probability("p_b", None)?),
        _ => {
            if t.get("p_b").is_some() {
                return Err(t.error("p_b", "only used with baseline = \"constant\""));
            }
            Baseline::MovingAverage
        }
    };
    let e_min = t.quantity("e_min", Dim::Frequency, Some(0.0))?;
    require_non_negative(t, "e_min", e_min, false)?;
    let e_max = match t.get("e_max") {
        None => f64::INFINITY,
        Some(_) => t.quantity("e_max", Dim::Frequency, None)?,
    };
    if e_max <= e_min {
        return Err(t.error("e_max", "must be above e_min"));
    }
    let w_max = t.number("w_max", Some(1.0))?;
    require_non_negative(t, "w_max", w_max, true)?;
    let tau_hom = t.quantity("tau_hom", Dim::Time, Some(30.0))?;
    require_non_negative(t, "tau_hom", tau_hom, true)?;
    let hom_rate_init = t.quantity("hom_rate_init", Dim::Frequency, Some(0.1))?;
    require_non_negative(t, "hom_rate_init", hom_rate_init, false)?;
    t.finish_ref()?;
    Ok(BurstRule {
        eta,
        tau_pre,
        tau_avg,
        baseline,
        e_min,
        e_max,
        w_max,
        tau_hom,
        hom_rate_init,
    })
}

/// Reads a current schedule from a CSV file with a header such as `time_s,current_pA`: the
/// suffixes give the units; each row starts a piecewise-constant level.
fn read_csv(path: &Path) -> std::result::Result<Waveform, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read the file ({e})"))?;
    let mut lines = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'));
    let header = lines
        .next()
        .ok_or("the file is empty; expected a header such as time_s,current_pA")?;
    let cols: Vec<&str> = header.split(',').map(str::trim).collect();
    let unit = |col: Option<&&str>, prefix: &str, dim: Dim| -> std::result::Result<f64, String> {
        let c = col.ok_or(format!("missing column {prefix}_<unit>"))?;
        let u = c
            .strip_prefix(prefix)
            .and_then(|s| s.strip_prefix('_'))
            .ok_or(format!(
                "column \"{c}\" should be {prefix}_<unit>, e.g. time_s,current_pA"
            ))?;
        super::units::parse_quantity(&format!("1 {u}"), dim)
            .map_err(|m| format!("column \"{c}\": {m}"))
    };
    let (ft, fi) = (
        unit(cols.first(), "time", Dim::Time)?,
        unit(cols.get(1), "current", Dim::Current)?,
    );
    let (mut times, mut values) = (Vec::new(), Vec::new());
    for (k, line) in lines.enumerate() {
        let mut it = line.split(',').map(str::trim);
        let parse = |s: Option<&str>| {
            s.and_then(|x| x.parse::<f64>().ok())
                .filter(|x| x.is_finite())
        };
        let (t, i) = (parse(it.next()), parse(it.next()));
        match (t, i) {
            (Some(t), Some(i)) => {
                if times.last().is_some_and(|&last| t * ft <= last) {
                    return Err(format!("row {}: times must increase", k + 2));
                }
                times.push(t * ft);
                values.push(i * fi);
            }
            _ => {
                return Err(format!(
                    "row {}: expected two numbers, found \"{line}\"",
                    k + 2
                ))
            }
        }
    }
    if times.is_empty() {
        return Err("no data rows".into());
    }
    Ok(Waveform::Schedule { times, values })
}
