//! Learning protocols: burn-in, pre-test, training epochs of examples made of phases, and
//! post-test, run on one network that is never rebuilt (spec/experiments.md §5; [P21 Fig 4],
//! [SBP sim/sim_xor.cpp], [G22 Fig 2]).
//!
//! An example sets constant input currents (one injector per population and compartment named
//! by any example; switching examples changes their values only) and runs the protocol's
//! phases in order. Each phase has a duration and switches the plasticity of the listed plastic
//! projections and the teacher on or off. Every plastic projection not listed stays fixed for
//! the whole run. Test examples run for the same total duration with plasticity and teacher off.
//!
//! The teacher (§5.1) is a per-neuron dendritic current into the output population computed
//! from Ē_i, the postsynaptic event-rate trace of a named plastic projection onto the output:
//! once at the start of each teacher phase (Payeur), or recomputed at a fixed interval inside
//! teacher phases (suggested for single-phase learning, §5.2).
//!
//! The cost point of a training example is the end of its teacher-free opening phases (the end
//! of the 7.2-s prediction in [P21]); when the first phase already has the teacher on
//! (single-phase), it is the end of the example. The example is scored (output event rate,
//! classification) over the last `test_window` before the cost point, or the whole span before
//! it when that is shorter. Test examples are scored over their last `test_window`.

use super::xor::{self, LearningCurves, RateBand, TeacherRule};
use crate::config::units::{require_non_negative, Dim, ParamTable};
use crate::config::Experiment;
use crate::engine::rng::{stream, Purpose};
use crate::engine::runner::{draw_figures, in_pool, RunOptions, Session};
use crate::engine::PopulationSpec;
use crate::error::{Error, Result};
use crate::inputs::current::{Injector, Waveform};
use crate::neurons::Compartment;
use crate::recording::edges;
use crate::recording::rates::Counts;
use crate::synapses::projection::ProjectionSpec;
use crate::synapses::stp::StpParams;
use rand::seq::SliceRandom;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::AtomicBool;

/// One phase of a training example.
#[derive(Clone, Debug, PartialEq)]
pub struct Phase {
    pub name: String,
    pub steps: u64,
    /// Weight changes of the protocol's plastic projections on.
    pub plastic: bool,
    /// Teacher current on.
    pub teacher: bool,
}

/// One example: input currents and target.
#[derive(Clone, Debug, PartialEq)]
pub struct Example {
    pub name: String,
    /// (index into [`Protocol::inputs`], current in A); inputs not listed get 0.
    pub currents: Vec<(usize, f64)>,
    /// 0 or 1.
    pub target: f64,
}

/// Order of the examples within a training epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// As listed, every epoch ([P21 Fig 4]).
    Fixed,
    /// A fresh permutation per epoch from a stream of the master seed and the epoch index.
    Shuffled,
}

/// When the teacher current is computed inside a teacher phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TeacherUpdate {
    /// At the start of the phase only [SBP sim/sim_xor.cpp].
    Once,
    /// At the start and then every this many steps.
    Every(u64),
}

/// The teacher: constants of the current and when it is computed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TeacherSpec {
    /// Tolerance, Hz.
    pub tolerance: f64,
    /// Full current, A.
    pub amplitude: f64,
    /// Bounds of the current, A (`min`, `max`; unbounded by default).
    pub limits: (f64, f64),
    pub update: TeacherUpdate,
}

/// The output population and its readout.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OutputSpec {
    pub population: usize,
    /// The plastic projection onto the output whose Ē_i is the output event-rate trace.
    pub trace: usize,
    pub band: RateBand,
    /// Steps at the end of a test example (and before a training example's cost point) over
    /// which the output event rate is scored.
    pub test_window: u64,
}

/// Which stretches of the run go to spikes.h5 and recordings.h5.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RecordWindows {
    pub burn_in: bool,
    pub tests: bool,
    /// Training epochs e (1-based) with (e − 1) % every = 0, and the last one; 0 = none.
    pub every: u64,
}

/// A validated protocol (times in steps of dt).
#[derive(Clone, Debug, PartialEq)]
pub struct Protocol {
    pub burn_in: u64,
    pub phases: Vec<Phase>,
    pub examples: Vec<Example>,
    pub epochs: u64,
    pub order: Order,
    pub pre_test: bool,
    pub post_test: bool,
    /// A teacher-free test after every `test_every`-th training epoch (not after the last,
    /// which the post-test covers); 0 = none.
    pub test_every: u64,
    /// Plastic projections switched on in plastic phases.
    pub plastic: Vec<usize>,
    pub output: OutputSpec,
    pub teacher: Option<TeacherSpec>,
    /// (population, compartment) receiving example currents.
    pub inputs: Vec<(usize, Compartment)>,
    pub record: RecordWindows,
}

fn table<'a>(file: &'a str, key: &str, v: &'a toml::Value) -> Result<ParamTable<'a>> {
    match v {
        toml::Value::Table(t) => Ok(ParamTable::new(file, key, t)),
        _ => Err(Error::config(file, key, "expected a table")),
    }
}

fn array<'a>(t: &ParamTable<'a>, key: &str, what: &str) -> Result<&'a Vec<toml::Value>> {
    t.get(key)
        .ok_or_else(|| t.error(key, format!("is missing; expected {what}")))?
        .as_array()
        .ok_or_else(|| t.error(key, format!("expected {what}")))
}

/// Seconds → steps of `dt`, requiring a whole number of steps.
fn steps(t: &ParamTable, key: &str, seconds: f64, dt: f64) -> Result<u64> {
    let n = seconds / dt;
    if (n - n.round()).abs() > 1e-6 * n.max(1.0) {
        return Err(t.error(
            key,
            format!(
                "{} ms is not a multiple of dt = {} ms",
                seconds * 1e3,
                dt * 1e3
            ),
        ));
    }
    Ok(n.round() as u64)
}

impl Protocol {
    /// Reads the `[protocol]` table of `file` against the experiment's populations and
    /// projections; `rate_bin` (s) is the recording bin, which windows must not split.
    pub fn parse(
        file: &str,
        value: &toml::Value,
        pops: &[PopulationSpec],
        projections: &[(ProjectionSpec, Option<StpParams>)],
        dt: f64,
        rate_bin: f64,
    ) -> Result<Protocol> {
        let t = table(file, "protocol", value)?;
        let pop_index = |t: &ParamTable, key: &str, name: &str| -> Result<usize> {
            pops.iter().position(|p| p.name == name).ok_or_else(|| {
                let known: Vec<&str> = pops.iter().map(|p| p.name.as_str()).collect();
                t.error(
                    key,
                    format!(
                        "no population is called \"{name}\"; defined: {}",
                        known.join(", ")
                    ),
                )
            })
        };
        let plastic_index = |t: &ParamTable, key: &str, name: &str| -> Result<usize> {
            let known: Vec<&str> = projections
                .iter()
                .filter(|(p, _)| p.plasticity.is_some())
                .map(|(p, _)| p.name.as_str())
                .collect();
            projections
                .iter()
                .position(|(p, _)| p.name == name && p.plasticity.is_some())
                .ok_or_else(|| {
                    t.error(
                        key,
                        format!(
                            "\"{name}\" is not a plastic projection; plastic projections: {}",
                            known.join(", ")
                        ),
                    )
                })
        };
        let bin_steps = (rate_bin / dt).round() as u64;
        let whole_bins = |t: &ParamTable, key: &str, n: u64| -> Result<()> {
            if n % bin_steps != 0 {
                return Err(t.error(
                    key,
                    format!(
                        "{} s is not a multiple of record.rate_bin = {rate_bin} s; recording windows must cover whole rate bins",
                        n as f64 * dt
                    ),
                ));
            }
            Ok(())
        };

        let burn_in_s = t.quantity("burn_in", Dim::Time, Some(0.0))?;
        require_non_negative(&t, "burn_in", burn_in_s, false)?;
        let burn_in = steps(&t, "burn_in", burn_in_s, dt)?;
        whole_bins(&t, "burn_in", burn_in)?;
        let epochs = t.count("epochs", None)?;
        let order = match t
            .choice("order", &["fixed", "shuffled"], Some("fixed"))?
            .as_str()
        {
            "fixed" => Order::Fixed,
            _ => Order::Shuffled,
        };
        let pre_test = t.boolean("pre_test", Some(true))?;
        let post_test = t.boolean("post_test", Some(true))?;
        let test_every = t.count("test_every", Some(0))?;
        let record = RecordWindows {
            burn_in: t.boolean("record_burn_in", Some(true))?,
            tests: t.boolean("record_tests", Some(true))?,
            every: t.count("record_every", Some(0))?,
        };

        let mut phases = Vec::new();
        for (i, v) in array(
            &t,
            "phases",
            "an array of tables, written [[protocol.phases]]",
        )?
        .iter()
        .enumerate()
        {
            let pt = table(file, &format!("protocol.phases[{i}]"), v)?;
            let d = pt.quantity("duration", Dim::Time, None)?;
            require_non_negative(&pt, "duration", d, true)?;
            phases.push(Phase {
                name: pt.string("name", Some(&format!("phase{i}")))?,
                steps: steps(&pt, "duration", d, dt)?,
                plastic: pt.boolean("plasticity", None)?,
                teacher: pt.boolean("teacher", None)?,
            });
            pt.finish()?;
        }
        if phases.is_empty() {
            return Err(t.error("phases", "needs at least one [[protocol.phases]]"));
        }
        let example_steps: u64 = phases.iter().map(|p| p.steps).sum();
        whole_bins(&t, "phases", example_steps)?;

        let mut inputs: Vec<(usize, Compartment)> = Vec::new();
        let mut examples = Vec::new();
        for (i, v) in array(
            &t,
            "examples",
            "an array of tables, written [[protocol.examples]]",
        )?
        .iter()
        .enumerate()
        {
            let et = table(file, &format!("protocol.examples[{i}]"), v)?;
            let name = et.string("name", None)?;
            if examples.iter().any(|e: &Example| e.name == name) {
                return Err(et.error("name", format!("\"{name}\" names two examples")));
            }
            let target = et.number("target", None)?;
            if target != 0.0 && target != 1.0 {
                return Err(et.error("target", format!("{target} is not 0 or 1")));
            }
            let mut currents = Vec::new();
            for comp in [Compartment::Soma, Compartment::Dendrite] {
                let Some(cv) = et.get(comp.name()) else {
                    continue;
                };
                let Some(map) = cv.as_table() else {
                    return Err(et.error(
                        comp.name(),
                        "expected a table of population = current, e.g. { input1 = \"150 pA\" }",
                    ));
                };
                let ct = ParamTable::new(file, et.key(comp.name()), map);
                for pname in map.keys() {
                    let p = pop_index(&ct, pname, pname)?;
                    if !pops[p].model.compartments().contains(&comp) {
                        return Err(ct.error(
                            pname,
                            format!("model \"{}\" has no {}", pops[p].model_name, comp.name()),
                        ));
                    }
                    let current = ct.quantity(pname, Dim::Current, None)?;
                    let k = match inputs.iter().position(|&x| x == (p, comp)) {
                        Some(k) => k,
                        None => {
                            inputs.push((p, comp));
                            inputs.len() - 1
                        }
                    };
                    currents.push((k, current));
                }
                ct.finish()?;
            }
            et.finish()?;
            examples.push(Example {
                name,
                currents,
                target,
            });
        }
        if examples.is_empty() {
            return Err(t.error("examples", "needs at least one [[protocol.examples]]"));
        }

        let plastic = match t.get("plastic") {
            None => (0..projections.len())
                .filter(|&k| projections[k].0.plasticity.is_some())
                .collect(),
            Some(v) => {
                let list = v.as_array().ok_or_else(|| {
                    t.error("plastic", "expected a list of plastic projection names")
                })?;
                list.iter()
                    .map(|x| plastic_index(&t, "plastic", x.as_str().unwrap_or_default()))
                    .collect::<Result<Vec<_>>>()?
            }
        };

        let ov = t.get("output").ok_or_else(|| {
            t.error(
                "output",
                "is missing; expected [protocol.output] with population and trace",
            )
        })?;
        let ot = table(file, "protocol.output", ov)?;
        let population = pop_index(&ot, "population", &ot.string("population", None)?)?;
        let trace = plastic_index(&ot, "trace", &ot.string("trace", None)?)?;
        let rule = projections[trace]
            .0
            .plasticity
            .expect("plastic_index returns plastic projections");
        if projections[trace].0.post != population {
            return Err(ot.error(
                "trace",
                format!(
                    "projection \"{}\" does not target \"{}\"; name a plastic projection onto the output",
                    projections[trace].0.name, pops[population].name
                ),
            ));
        }
        if !pops[population]
            .model
            .compartments()
            .contains(&Compartment::Dendrite)
        {
            return Err(ot.error(
                "population",
                "the teacher is a dendritic current; the output model needs a dendrite",
            ));
        }
        let band = RateBand {
            e_min: ot.quantity("e_min", Dim::Frequency, Some(rule.e_min))?,
            e_max: ot.quantity(
                "e_max",
                Dim::Frequency,
                rule.e_max.is_finite().then_some(rule.e_max),
            )?,
        };
        if band.e_max <= band.e_min {
            return Err(ot.error("e_max", "must be above e_min"));
        }
        let tw = ot.quantity("test_window", Dim::Time, Some(4.0))?;
        require_non_negative(&ot, "test_window", tw, true)?;
        let test_window = steps(&ot, "test_window", tw, dt)?;
        if test_window > example_steps {
            return Err(ot.error(
                "test_window",
                format!(
                    "{tw} s is longer than an example ({} s)",
                    example_steps as f64 * dt
                ),
            ));
        }
        ot.finish()?;

        let teacher = match t.get("teacher") {
            None => None,
            Some(v) => {
                let tt = table(file, "protocol.teacher", v)?;
                let tolerance = tt.quantity("tolerance", Dim::Frequency, Some(1.0))?;
                require_non_negative(&tt, "tolerance", tolerance, false)?;
                let amplitude = tt.quantity("amplitude", Dim::Current, None)?;
                let min = tt.quantity("min", Dim::Current, Some(f64::NEG_INFINITY))?;
                let max = tt.quantity("max", Dim::Current, Some(f64::INFINITY))?;
                if min > 0.0 {
                    return Err(tt.error(
                        "min",
                        "must be ≤ 0 pA: it bounds the negative current of target 0",
                    ));
                }
                if max < 0.0 {
                    return Err(tt.error(
                        "max",
                        "must be ≥ 0 pA: it bounds the positive current of target 1",
                    ));
                }
                let update = match tt.get("update") {
                    None => TeacherUpdate::Once,
                    Some(toml::Value::String(s)) if s == "once" => TeacherUpdate::Once,
                    Some(_) => {
                        let every = tt.quantity("update", Dim::Time, None).map_err(|_| {
                            tt.error(
                                "update",
                                "expected \"once\" or an interval such as \"400 ms\"",
                            )
                        })?;
                        require_non_negative(&tt, "update", every, true)?;
                        TeacherUpdate::Every(steps(&tt, "update", every, dt)?)
                    }
                };
                tt.finish()?;
                Some(TeacherSpec {
                    tolerance,
                    amplitude,
                    limits: (min, max),
                    update,
                })
            }
        };
        if teacher.is_none() && phases.iter().any(|p| p.teacher) {
            return Err(t.error(
                "teacher",
                "a phase has teacher = true but [protocol.teacher] is missing",
            ));
        }
        t.finish()?;
        Ok(Protocol {
            burn_in,
            phases,
            examples,
            epochs,
            order,
            pre_test,
            post_test,
            test_every,
            plastic,
            output: OutputSpec {
                population,
                trace,
                band,
                test_window,
            },
            teacher,
            inputs,
            record,
        })
    }

    /// Steps of one example (the sum of the phases).
    pub fn example_steps(&self) -> u64 {
        self.phases.iter().map(|p| p.steps).sum()
    }

    /// Steps of the whole protocol.
    pub fn total_steps(&self) -> u64 {
        let tests = self.pre_test as u64 + self.post_test as u64 + self.interim_tests();
        self.burn_in + (tests + self.epochs) * self.examples.len() as u64 * self.example_steps()
    }

    /// Number of interim tests (see [`Protocol::test_every`]).
    pub fn interim_tests(&self) -> u64 {
        match self.test_every {
            0 => 0,
            k => self.epochs.saturating_sub(1) / k,
        }
    }

    /// Whether an interim test follows training epoch `epoch` (1-based).
    pub fn tests_after(&self, epoch: u64) -> bool {
        self.test_every > 0 && epoch % self.test_every == 0 && epoch < self.epochs
    }

    /// Steps from the start of a training example to its cost point: the end of the opening
    /// teacher-free phases, or the end of the example if the first phase has the teacher on.
    pub fn cost_step(&self) -> u64 {
        let free: u64 = self
            .phases
            .iter()
            .take_while(|p| !p.teacher)
            .map(|p| p.steps)
            .sum();
        if free == 0 {
            self.example_steps()
        } else {
            free
        }
    }

    /// The example order of training epoch `epoch` (0-based) for master seed `seed`.
    pub fn order(&self, seed: u64, epoch: u64) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.examples.len()).collect();
        if self.order == Order::Shuffled {
            order.shuffle(&mut stream(seed, Purpose::Protocol, &[epoch]));
        }
        order
    }

    /// Whether training epoch `epoch` (0-based) is recorded.
    pub fn records_epoch(&self, epoch: u64) -> bool {
        self.record.every > 0 && (epoch % self.record.every == 0 || epoch + 1 == self.epochs)
    }
}

/// Which block an example belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Block {
    PreTest,
    Train,
    /// A teacher-free test between training epochs.
    Test,
    PostTest,
}

impl Block {
    fn name(self) -> &'static str {
        match self {
            Block::PreTest => "pre_test",
            Block::Train => "train",
            Block::Test => "test",
            Block::PostTest => "post_test",
        }
    }
}

/// What one example produced.
#[derive(Clone, Debug)]
struct ExampleResult {
    /// Event rate of every population over the scoring window, Hz.
    rates: Vec<f64>,
    /// Spike rate of every population over the scoring window, Hz.
    spike_rates: Vec<f64>,
    /// Burst probability of every population over the scoring window.
    bps: Vec<f64>,
    /// Output event rate and burst probability while the teacher was on (NaN without teacher).
    er_teach: f64,
    bp_teach: f64,
    /// Mean Ē of the output at the cost point, Hz.
    ebar: f64,
    /// Mean teacher current at its first computation, A (NaN without teacher).
    teacher_mean: f64,
    cost: f64,
    cost_end: f64,
    /// Test examples: every neuron's event rate over the scoring window, Hz, per population
    /// (empty for sources and in training).
    neuron_rates: Vec<Vec<f64>>,
    /// Per plastic projection, the constant baseline at which the example's burst term would
    /// not have changed the weights (crate::plasticity::RuleSums; NaN when not plastic).
    rule_baselines: Vec<f64>,
}

/// The XOR results of a run, written under "xor" in summary.json.
#[derive(Clone, Debug, Default, Serialize, serde::Deserialize)]
pub struct XorSummary {
    /// The pass criterion on the post-test (false without post-test).
    pub solved: bool,
    /// Output event rate over the last `test_window_s` of each pre-test example, Hz.
    pub pre_rates_hz: BTreeMap<String, f64>,
    /// The same in the post-test.
    pub post_rates_hz: BTreeMap<String, f64>,
    /// See [`xor::epochs_to_solve`].
    pub epochs_to_solve: Option<u64>,
    /// Output event rate in each interim test (`test_every`), Hz, keyed by example name.
    #[serde(default)]
    pub interim_tests: Vec<InterimTest>,
    /// The first interim-test epoch from which every later interim test and the post-test
    /// pass; `None` without interim tests or when the post-test fails.
    #[serde(default)]
    pub test_epochs_to_solve: Option<u64>,
    pub threshold_hz: f64,
    pub test_window_s: f64,
    pub epochs_run: u64,
    /// Sum of the example costs (at the cost point) per training epoch.
    pub epoch_costs: Vec<f64>,
    /// Mean epoch cost of the first 10 and the last 50 epochs (fewer if the run is shorter).
    pub cost_first10_mean: Option<f64>,
    pub cost_last50_mean: Option<f64>,
    /// Event rate of every population in each pre-/post-test example (scoring window), Hz.
    pub pre_population_rates_hz: BTreeMap<String, BTreeMap<String, f64>>,
    pub post_population_rates_hz: BTreeMap<String, BTreeMap<String, f64>>,
    /// Burst probability of every population in each pre-/post-test example (scoring window).
    pub pre_population_bp: BTreeMap<String, BTreeMap<String, f64>>,
    pub post_population_bp: BTreeMap<String, BTreeMap<String, f64>>,
    /// Spike rate of every population in each pre-/post-test example (scoring window), Hz:
    /// the readout for interneurons, whose tonic firing the 16-ms event count hides.
    #[serde(default)]
    pub pre_population_spike_rates_hz: BTreeMap<String, BTreeMap<String, f64>>,
    #[serde(default)]
    pub post_population_spike_rates_hz: BTreeMap<String, BTreeMap<String, f64>>,
}

/// One interim test: the training epoch it followed and its output event rates.
#[derive(Clone, Debug, Default, Serialize, serde::Deserialize)]
pub struct InterimTest {
    pub epoch: u64,
    pub rates_hz: BTreeMap<String, f64>,
    pub solved: bool,
}

/// A CSV file written line by line; errors name the file.
struct CsvFile {
    writer: std::io::BufWriter<std::fs::File>,
    path: std::path::PathBuf,
}

impl CsvFile {
    fn create(path: std::path::PathBuf) -> Result<CsvFile> {
        let file = std::fs::File::create(&path).map_err(|e| Error::io(&path, e))?;
        Ok(CsvFile {
            writer: std::io::BufWriter::new(file),
            path,
        })
    }

    fn line(&mut self, line: &str) -> Result<()> {
        writeln!(self.writer, "{line}").map_err(|e| Error::io(&self.path, e))
    }

    fn flush(&mut self) -> Result<()> {
        self.writer.flush().map_err(|e| Error::io(&self.path, e))
    }
}

/// Drives one session through a protocol.
struct Driver<'s, 'a> {
    session: &'s mut Session<'a>,
    protocol: &'s Protocol,
    interrupt: &'s AtomicBool,
    /// Index of the first protocol injector in `net.injectors`; the teacher follows the inputs.
    first_injector: usize,
    /// learning.csv: one row per example.
    csv: CsvFile,
    /// populations.csv: one row per example and population.
    populations: CsvFile,
    /// neurons.csv: one row per test block, population and neuron.
    neurons: CsvFile,
    xor: XorSummary,
    /// Per training epoch: all examples correct.
    epoch_correct: Vec<bool>,
}

impl Driver<'_, '_> {
    fn teacher_injector(&self) -> usize {
        self.first_injector + self.protocol.inputs.len()
    }

    fn set_plastic(&mut self, on: bool) {
        for &k in &self.protocol.plastic {
            self.session.net.set_plastic(k, on);
        }
    }

    fn set_inputs(&mut self, example: Option<usize>) {
        for k in 0..self.protocol.inputs.len() {
            let value = example
                .and_then(|e| {
                    self.protocol.examples[e]
                        .currents
                        .iter()
                        .find(|(i, _)| *i == k)
                })
                .map_or(0.0, |&(_, c)| c);
            self.session.net.injectors[self.first_injector + k].waveform =
                Waveform::Constant(value);
        }
    }

    /// Mean over the output neurons of Ē_i, Hz.
    fn mean_ebar(&self) -> f64 {
        let net = &self.session.net;
        let out = &self.protocol.output;
        let n = net.populations[out.population].size;
        (0..n)
            .map(|i| net.post_event_rate(out.trace, i).unwrap_or(0.0))
            .sum::<f64>()
            / n as f64
    }

    /// Sets the teacher currents from the current Ē_i; returns their mean, A.
    fn update_teacher(&mut self, spec: &TeacherSpec, target: f64) -> f64 {
        let out = self.protocol.output;
        let rule = TeacherRule {
            band: out.band,
            tolerance: spec.tolerance,
            amplitude: spec.amplitude,
            limits: spec.limits,
        };
        let net = &self.session.net;
        let n = net.populations[out.population].size;
        let currents: Vec<f64> = (0..n)
            .map(|i| rule.current(net.post_event_rate(out.trace, i).unwrap_or(0.0), target))
            .collect();
        let mean = currents.iter().sum::<f64>() / n as f64;
        let k = self.teacher_injector();
        self.session.net.injectors[k].per_neuron = Some(currents);
        mean
    }

    fn clear_teacher(&mut self) {
        let k = self.teacher_injector();
        self.session.net.injectors[k].per_neuron = None;
    }

    /// Runs `steps` steps without example: the burn-in.
    fn idle(&mut self, steps: u64, record: bool) -> Result<()> {
        for _ in 0..steps {
            self.session.step(record, &mut |_, _| {});
            self.session.check(self.interrupt)?;
        }
        Ok(())
    }

    /// Runs example `e` in `block`.
    fn example(&mut self, e: usize, block: Block, record: bool) -> Result<ExampleResult> {
        let p = self.protocol;
        let total = p.example_steps();
        let test_phase = [Phase {
            name: "test".into(),
            steps: total,
            plastic: false,
            teacher: false,
        }];
        let (phases, cost_step): (&[Phase], u64) = if block == Block::Train {
            (&p.phases, p.cost_step())
        } else {
            (&test_phase, total)
        };
        let score = cost_step - p.output.test_window.min(cost_step)..cost_step;
        let target = p.examples[e].target;
        let out = p.output.population;
        let npop = self.session.net.populations.len();
        let mut scored = vec![Counts::default(); npop];
        // Per-neuron event counts of the scoring window, for tests only (a test example is a
        // few seconds in thousands, so its one allocation is outside the training loop).
        let per_neuron = block != Block::Train;
        let mut neuron_events: Vec<Vec<u32>> = self
            .session
            .net
            .populations
            .iter()
            .map(|pop| {
                if per_neuron && !pop.model.is_source() {
                    vec![0; pop.size]
                } else {
                    Vec::new()
                }
            })
            .collect();
        let mut taught = Counts::default();
        let mut teach_steps = 0u64;
        let mut teacher_mean = f64::NAN;
        let mut ebar = f64::NAN;
        self.set_inputs(Some(e));
        let net = &self.session.net;
        let sums0: Vec<_> = (0..net.projections.len())
            .filter_map(|k| net.rule_sums(k))
            .collect();
        let mut k = 0u64;
        for phase in phases {
            self.set_plastic(phase.plastic);
            for s in 0..phase.steps {
                if k == cost_step {
                    ebar = self.mean_ebar();
                }
                let teach = match (phase.teacher, p.teacher) {
                    (true, Some(spec)) => {
                        let due = match spec.update {
                            TeacherUpdate::Once => s == 0,
                            TeacherUpdate::Every(iv) => s % iv == 0,
                        };
                        if due {
                            let m = self.update_teacher(&spec, target);
                            if teacher_mean.is_nan() {
                                teacher_mean = m;
                            }
                        }
                        true
                    }
                    _ => false,
                };
                let in_score = score.contains(&k);
                self.session.step(record, &mut |net, n| {
                    if in_score {
                        for ((c, o), counts) in
                            scored.iter_mut().zip(&net.outputs).zip(&mut neuron_events)
                        {
                            c.spikes += o.ring.slot(n).len() as u64;
                            if let Some(post) = &o.post {
                                c.events += post.events.len() as u64;
                                c.bursts += post.bursts.len() as u64;
                                if !counts.is_empty() {
                                    for &i in &post.events {
                                        counts[i as usize] += 1;
                                    }
                                }
                            }
                        }
                    }
                    if teach {
                        if let Some(post) = &net.outputs[out].post {
                            taught.events += post.events.len() as u64;
                            taught.bursts += post.bursts.len() as u64;
                        }
                    }
                });
                teach_steps += teach as u64;
                self.session.check(self.interrupt)?;
                k += 1;
            }
            if phase.teacher {
                self.clear_teacher();
            }
        }
        self.set_plastic(false);
        let ebar_end = self.mean_ebar();
        if cost_step == total {
            ebar = ebar_end;
        }
        let dt = self.session.net.dt;
        let pops = &self.session.net.populations;
        let window = score.end.saturating_sub(score.start) as f64 * dt;
        let binned: Vec<_> = scored
            .iter()
            .zip(pops)
            .map(|(c, pop)| c.rates(pop.size, window))
            .collect();
        let rates = binned.iter().map(|r| r.event_rate).collect();
        let spike_rates = binned.iter().map(|r| r.rate).collect();
        let bps = binned.iter().map(|r| r.burst_probability).collect();
        let teach_rates = taught.rates(pops[out].size, teach_steps as f64 * dt);
        let band = &p.output.band;
        let net = &self.session.net;
        let rule_baselines = (0..net.projections.len())
            .filter_map(|k| net.rule_sums(k))
            .zip(sums0)
            .map(|(now, then)| (now - then).baseline())
            .collect();
        Ok(ExampleResult {
            rule_baselines,
            rates,
            spike_rates,
            bps,
            er_teach: if teach_steps > 0 {
                teach_rates.event_rate
            } else {
                f64::NAN
            },
            bp_teach: if teach_steps > 0 {
                teach_rates.burst_probability
            } else {
                f64::NAN
            },
            ebar,
            teacher_mean,
            cost: band.cost(ebar, target),
            cost_end: band.cost(ebar_end, target),
            neuron_rates: neuron_events
                .iter()
                .map(|c| c.iter().map(|&k| k as f64 / window).collect())
                .collect(),
        })
    }

    fn header(&mut self) -> Result<()> {
        let mut h = String::from(
            "block,epoch,index,example,target,er_hz,bp,er_teach_hz,bp_teach,ebar_hz,teacher_pA,cost,cost_end,correct",
        );
        let plastic: Vec<&str> = (self.session.net.projections.iter())
            .filter(|proj| proj.plastic.is_some())
            .map(|proj| proj.spec.name.as_str())
            .collect();
        for prefix in ["w", "pb_rule"] {
            for name in &plastic {
                h.push_str(&format!(",{prefix}_{name}"));
            }
        }
        self.csv.line(&h)?;
        self.populations
            .line("block,epoch,index,example,population,er_hz,bp,rate_hz")?;
        let mut h = String::from("block,epoch,population,neuron");
        for ex in &self.protocol.examples {
            h.push_str(&format!(",er_{}", ex.name));
        }
        self.neurons.line(&h)
    }

    /// neurons.csv rows of one test block: every neuron's event rate in each example, Hz.
    fn neuron_rows(&mut self, block: Block, epoch: u64, results: &[ExampleResult]) -> Result<()> {
        for (p, pop) in self.session.net.populations.iter().enumerate() {
            if pop.model.is_source() {
                continue;
            }
            for i in 0..pop.size {
                let mut line = format!("{},{epoch},{},{i}", block.name(), pop.name);
                for r in results {
                    line.push_str(&format!(",{:.2}", r.neuron_rates[p][i]));
                }
                self.neurons.line(&line)?;
            }
        }
        Ok(())
    }

    fn row(
        &mut self,
        block: Block,
        epoch: u64,
        index: usize,
        e: usize,
        r: &ExampleResult,
    ) -> Result<bool> {
        let ex = &self.protocol.examples[e];
        let er = r.rates[self.protocol.output.population];
        let correct = self.protocol.output.band.correct(er, ex.target);
        let mut line = format!(
            "{},{epoch},{index},{},{},{er:.4},{:.4},{:.4},{:.4},{:.4},{:.2},{:.5},{:.5},{}",
            block.name(),
            ex.name,
            ex.target,
            r.bps[self.protocol.output.population],
            r.er_teach,
            r.bp_teach,
            r.ebar,
            r.teacher_mean * 1e12,
            r.cost,
            r.cost_end,
            correct as u8
        );
        let net = &self.session.net;
        for k in 0..net.projections.len() {
            if let Some(w) = net.weight_sum(k) {
                line.push_str(&format!(",{w:.4}"));
            }
        }
        for b in &r.rule_baselines {
            line.push_str(&format!(",{b:.4}"));
        }
        self.csv.line(&line)?;
        for (p, pop) in net.populations.iter().enumerate() {
            if !pop.model.is_source() {
                self.populations.line(&format!(
                    "{},{epoch},{index},{},{},{:.4},{:.4},{:.4}",
                    block.name(),
                    ex.name,
                    pop.name,
                    r.rates[p],
                    r.bps[p],
                    r.spike_rates[p]
                ))?;
            }
        }
        Ok(correct)
    }

    /// A test block; `epoch` is the training epoch an interim test follows (0 otherwise).
    fn test(&mut self, block: Block, epoch: u64) -> Result<()> {
        let p = self.protocol;
        let mut interim = InterimTest {
            epoch,
            ..Default::default()
        };
        let mut results = Vec::with_capacity(p.examples.len());
        for e in 0..p.examples.len() {
            let r = self.example(e, block, p.record.tests)?;
            self.row(block, epoch, e, e, &r)?;
            results.push(r);
            let r = &results[e];
            let name = p.examples[e].name.clone();
            let out = p.output.population;
            if block == Block::Test {
                interim.rates_hz.insert(name, r.rates[out]);
                continue;
            }
            let by_pop = |v: &[f64]| -> BTreeMap<String, f64> {
                self.session
                    .net
                    .populations
                    .iter()
                    .zip(v)
                    .filter(|(pop, _)| !pop.model.is_source())
                    .map(|(pop, &x)| (pop.name.clone(), x))
                    .collect()
            };
            let (ers, bps, srs) = (by_pop(&r.rates), by_pop(&r.bps), by_pop(&r.spike_rates));
            let x = &mut self.xor;
            if block == Block::PreTest {
                x.pre_rates_hz.insert(name.clone(), r.rates[out]);
                x.pre_population_rates_hz.insert(name.clone(), ers);
                x.pre_population_bp.insert(name.clone(), bps);
                x.pre_population_spike_rates_hz.insert(name, srs);
            } else {
                x.post_rates_hz.insert(name.clone(), r.rates[out]);
                x.post_population_rates_hz.insert(name.clone(), ers);
                x.post_population_bp.insert(name.clone(), bps);
                x.post_population_spike_rates_hz.insert(name, srs);
            }
        }
        self.neuron_rows(block, epoch, &results)?;
        if block == Block::Test {
            interim.solved = xor::solved(&p.output.band, &interim.rates_hz, &self.targets());
            self.xor.interim_tests.push(interim);
        }
        self.flush()
    }

    /// (example name, target) of every example.
    fn targets(&self) -> Vec<(String, f64)> {
        self.protocol
            .examples
            .iter()
            .map(|e| (e.name.clone(), e.target))
            .collect()
    }

    fn flush(&mut self) -> Result<()> {
        self.csv.flush()?;
        self.populations.flush()?;
        self.neurons.flush()
    }

    fn train(&mut self) -> Result<()> {
        let p = self.protocol;
        let mut index = 0;
        for epoch in 0..p.epochs {
            let record = p.records_epoch(epoch);
            let mut cost = 0.0;
            let mut all = true;
            for e in p.order(self.session.exp.seed, epoch) {
                let r = self.example(e, Block::Train, record)?;
                all &= self.row(Block::Train, epoch + 1, index, e, &r)?;
                cost += r.cost;
                index += 1;
            }
            self.xor.epoch_costs.push(cost);
            self.xor.epochs_run = epoch + 1;
            self.epoch_correct.push(all);
            self.flush()?;
            if p.tests_after(epoch + 1) {
                self.test(Block::Test, epoch + 1)?;
                self.session
                    .snapshot_weights(&edges::epoch_snapshot(epoch + 1))?;
            }
        }
        Ok(())
    }

    fn run(&mut self) -> Result<()> {
        self.header()?;
        self.set_plastic(false);
        self.set_inputs(None);
        self.idle(self.protocol.burn_in, self.protocol.record.burn_in)?;
        if self.protocol.pre_test {
            self.test(Block::PreTest, 0)?;
        }
        self.train()?;
        if self.protocol.post_test {
            self.test(Block::PostTest, 0)?;
        }
        Ok(())
    }

    /// Fills in the figures derived from the per-example results.
    fn conclude(&mut self) {
        let p = self.protocol;
        let targets = self.targets();
        let x = &mut self.xor;
        x.threshold_hz = p.output.band.threshold();
        x.test_window_s = p.output.test_window as f64 * self.session.net.dt;
        x.solved = p.post_test && xor::solved(&p.output.band, &x.post_rates_hz, &targets);
        x.epochs_to_solve = xor::epochs_to_solve(&self.epoch_correct, x.solved);
        x.test_epochs_to_solve = xor::test_epochs_to_solve(
            x.interim_tests.iter().map(|t| (t.epoch, t.solved)),
            x.solved,
        );
        let mean = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
        let c = &x.epoch_costs;
        x.cost_first10_mean = mean(&c[..c.len().min(10)]);
        x.cost_last50_mean = mean(&c[c.len().saturating_sub(50)..]);
    }
}

/// Runs `exp` with `protocol` into `opts.out`: spikes.h5 and recordings.h5 (within the
/// protocol's recording windows), learning.csv, config.toml and summary.json with an "xor"
/// object. On interruption or instability the files are closed, the summary is written with
/// what was measured, and the error is returned.
pub fn run(
    exp: &Experiment,
    protocol: &Protocol,
    opts: &RunOptions,
    interrupt: &AtomicBool,
) -> Result<XorSummary> {
    in_pool(opts, |threads| {
        let mut session = Session::open(exp, opts, threads, protocol.total_steps())?;
        let net = &mut session.net;
        let first_injector = net.injectors.len();
        for &(population, compartment) in &protocol.inputs {
            net.injectors.push(Injector {
                population,
                compartment,
                waveform: Waveform::Constant(0.0),
                neurons: None,
                per_neuron: None,
            });
        }
        net.injectors.push(Injector {
            population: protocol.output.population,
            compartment: Compartment::Dendrite,
            waveform: Waveform::Constant(0.0),
            neurons: None,
            per_neuron: None,
        });
        for k in 0..net.projections.len() {
            net.set_plastic(k, false);
        }
        let csv = CsvFile::create(opts.out.join("learning.csv"))?;
        let populations = CsvFile::create(opts.out.join("populations.csv"))?;
        let neurons = CsvFile::create(opts.out.join("neurons.csv"))?;
        let mut driver = Driver {
            session: &mut session,
            protocol,
            interrupt,
            first_injector,
            csv,
            populations,
            neurons,
            xor: XorSummary::default(),
            epoch_correct: Vec::new(),
        };
        let stop = driver.run().err();
        driver.conclude();
        let flushed = driver.flush();
        let xor = std::mem::take(&mut driver.xor);
        let csv_path = driver.csv.path.clone();
        let (summary, result) = session.finish(stop)?;
        write_summary(&opts.out.join("summary.json"), &summary, &xor)?;
        draw_figures(exp, opts, &summary);
        let png = opts.out.join("learning.png");
        // The curves are read back from learning.csv, the one record of the training, as
        // `burstccn plot` does.
        let figure = LearningCurves::from_csv(&csv_path)
            .and_then(|curves| xor::learning_figure(&png, &exp.name, &curves, &xor));
        if let Err(e) = figure {
            eprintln!("warning: {} was not drawn: {e}", png.display());
        }
        result.and(flushed).map(|()| xor)
    })
}

/// Writes the run summary with the "xor" object added.
fn write_summary(
    path: &Path,
    summary: &crate::recording::summary::Summary,
    xor: &XorSummary,
) -> Result<()> {
    let json = |e: serde_json::Error| Error::Parse {
        file: path.display().to_string(),
        message: e.to_string(),
    };
    let mut v = serde_json::to_value(summary).map_err(json)?;
    v["xor"] = serde_json::to_value(xor).map_err(json)?;
    let text = serde_json::to_string_pretty(&v).map_err(json)?;
    std::fs::write(path, text + "\n").map_err(|e| Error::io(path, e))
}
