//! The network: populations, projections, short-term plasticity, injectors, and the step.

use super::rng::{name_id, stream, Purpose, Rng};
use super::spike_ring::SpikeRing;
use crate::inputs::current::Injector;
use crate::inputs::poisson_drive::{DriveState, PoissonDrive};
use crate::neurons::columns::shift;
use crate::neurons::{Compartment, NeuronChunk, NeuronModel, CHUNK};
use crate::plasticity::{
    PlasticChunk, PlasticProjection, PostTraces, PreTraces, RuleSums, Transmit,
};
use crate::synapses::connectivity::Rule;
use crate::synapses::detector::BurstDetector;
use crate::synapses::projection::{Projection, ProjectionSpec, Transmission};
use crate::synapses::stp::{StpParams, StpState};
use crate::Real;
use rayon::prelude::*;
use std::ops::Range;
use std::sync::Arc;

/// What the builder needs to know about a population.
#[derive(Debug)]
pub struct PopulationSpec {
    pub name: String,
    pub size: usize,
    /// Preset or model name, for reports.
    pub model_name: String,
    pub model: Arc<dyn NeuronModel>,
}

/// Everything needed to build a network.
#[derive(Debug, Default)]
pub struct NetworkSpec {
    /// Time step, s.
    pub dt: f64,
    pub seed: u64,
    pub populations: Vec<PopulationSpec>,
    /// Projections with their short-term plasticity (if any).
    pub projections: Vec<(ProjectionSpec, Option<StpParams>)>,
    pub injectors: Vec<Injector>,
    /// Private Poisson backgrounds.
    pub drives: Vec<PoissonDrive>,
}

/// A population: name, size, model, and the range of its chunks in [`Network::chunks`].
#[derive(Debug)]
pub struct Population {
    pub name: String,
    pub size: usize,
    pub model_name: String,
    pub model: Arc<dyn NeuronModel>,
    pub chunks: Range<usize>,
}

/// One chunk of neurons with its random stream and this step's spikes (chunk-local ids).
pub struct Chunk {
    pub population: usize,
    /// Index of the chunk within its population.
    pub index: usize,
    pub neurons: Box<dyn NeuronChunk>,
    pub rng: Rng,
    pub spikes: Vec<u32>,
    /// Private Poisson drives of these neurons, each with its own stream.
    pub drives: Vec<DriveState>,
    /// Weights of the plastic projections onto these neurons.
    pub plastic: Vec<PlasticChunk>,
    /// Their postsynaptic traces, one set per time constants (shared by projections).
    pub post_traces: Vec<PostTraces>,
}

/// Events and bursts of the current step according to one online detector.
#[derive(Debug)]
pub struct Classified {
    pub detector: BurstDetector,
    pub events: Vec<u32>,
    pub bursts: Vec<u32>,
}

impl Classified {
    fn new(n: usize, dt: f64, lag: usize) -> Self {
        Classified {
            detector: BurstDetector::new(n, dt, lag),
            events: Vec::new(),
            bursts: Vec::new(),
        }
    }
}

/// Spiking output of a population: the delay ring and the online burst detectors.
#[derive(Debug)]
pub struct Output {
    pub ring: SpikeRing,
    /// Postsynaptic-side detector (no lag): monitors and plasticity. `None` for spike sources.
    pub post: Option<Classified>,
    /// Presynaptic-side detectors of filtered and plastic projections, one per lag.
    pub pre: Vec<Classified>,
}

/// Shared short-term-plasticity state of one presynaptic population and parameter set,
/// with the efficacies of recent spikes aligned with the population's spike ring.
#[derive(Debug)]
pub struct StpGroup {
    pub pre: usize,
    pub state: StpState,
    efficacies: Vec<Vec<Real>>,
}

impl StpGroup {
    /// Efficacies of the spikes emitted `delay` steps before `step`.
    fn delayed(&self, step: u64, delay: usize) -> &[Real] {
        match step.checked_sub(delay as u64) {
            Some(s) => &self.efficacies[(s % self.efficacies.len() as u64) as usize],
            None => &[],
        }
    }
}

/// A built network. [`Network::step`] advances it by dt in the order of spec/neurons.md §1.
pub struct Network {
    pub dt: f64,
    /// Index of the step about to run (time of its start = step·dt).
    pub step: u64,
    pub populations: Vec<Population>,
    pub chunks: Vec<Chunk>,
    pub outputs: Vec<Output>,
    pub projections: Vec<Projection>,
    pub stp: Vec<StpGroup>,
    /// Presynaptic event traces of the plastic projections, shared where they agree.
    pub pre_traces: Vec<PreTraces>,
    pub injectors: Vec<Injector>,
    /// Incoming projection indices of each population, in declaration order.
    incoming: Vec<Vec<usize>>,
    /// Whether phases run on the rayon pool (false: the same chunks in order on this thread).
    pub parallel: bool,
}

impl Network {
    /// Builds the network: draws initial states and connectivity from streams of `spec.seed`.
    pub fn build(spec: &NetworkSpec) -> Network {
        let dt = spec.dt;
        let mut populations = Vec::new();
        let mut chunks = Vec::new();
        for (p, ps) in spec.populations.iter().enumerate() {
            let first = chunks.len();
            let id = name_id(&ps.name);
            for c in 0..ps.size.div_ceil(CHUNK) {
                let len = CHUNK.min(ps.size - c * CHUNK);
                let mut init = stream(spec.seed, Purpose::Init, &[id, c as u64]);
                let drives = spec
                    .drives
                    .iter()
                    .enumerate()
                    .filter(|(_, d)| d.population == p)
                    .map(|(k, d)| {
                        let rng =
                            stream(spec.seed, Purpose::Dynamics, &[id, c as u64, 1 + k as u64]);
                        DriveState::new(d, dt, rng)
                    })
                    .collect();
                chunks.push(Chunk {
                    population: p,
                    index: c,
                    neurons: ps.model.build_chunk_at(c * CHUNK, len, &mut init),
                    rng: stream(spec.seed, Purpose::Dynamics, &[id, c as u64]),
                    spikes: Vec::with_capacity(len),
                    drives,
                    plastic: Vec::new(),
                    post_traces: Vec::new(),
                });
            }
            populations.push(Population {
                name: ps.name.clone(),
                size: ps.size,
                model_name: ps.model_name.clone(),
                model: ps.model.clone(),
                chunks: first..chunks.len(),
            });
        }

        let n = populations.len();
        let mut max_delay = vec![0usize; n];
        let mut lags: Vec<Vec<usize>> = vec![Vec::new(); n];
        let mut incoming = vec![Vec::new(); n];
        let mut stp: Vec<StpGroup> = Vec::new();
        let mut projections = Vec::new();
        let mut pre_traces: Vec<PreTraces> = Vec::new();
        for (i, (ps, stp_params)) in spec.projections.iter().enumerate() {
            let mut ps = ps.clone();
            max_delay[ps.pre] = max_delay[ps.pre].max(ps.delay);
            if ps.reads_pre_detector() && !lags[ps.pre].contains(&ps.detector_lag) {
                lags[ps.pre].push(ps.detector_lag);
                max_delay[ps.pre] = max_delay[ps.pre].max(ps.detector_lag);
            }
            if let Some(params) = *stp_params {
                // Projections from one population with equal parameters share one state.
                let g = match stp
                    .iter()
                    .position(|g| g.pre == ps.pre && *g.state.params() == params)
                {
                    Some(g) => g,
                    None => {
                        stp.push(StpGroup {
                            pre: ps.pre,
                            state: StpState::new(params, populations[ps.pre].size, dt),
                            efficacies: Vec::new(),
                        });
                        stp.len() - 1
                    }
                };
                ps.stp = Some(g);
            }
            incoming[ps.post].push(i);
            let (n_pre, n_post) = (populations[ps.pre].size, populations[ps.post].size);
            let mut proj = Projection::build(ps, n_pre, n_post, spec.seed);
            if let Some(rule) = proj.spec.plasticity {
                let range = populations[proj.spec.post].chunks.clone();
                let first = &chunks[range.start];
                let slot = first.plastic.len();
                let traces = match first.post_traces.iter().position(|t| t.serves(&rule)) {
                    Some(k) => k,
                    None => {
                        for c in &mut chunks[range.clone()] {
                            let n = c.neurons.len();
                            c.post_traces.push(PostTraces::new(&rule, n, dt));
                        }
                        chunks[range.start].post_traces.len() - 1
                    }
                };
                let (pre, lag) = (proj.spec.pre, proj.spec.detector_lag);
                let pre_trace = match pre_traces.iter().position(|t| t.serves(pre, lag, &rule)) {
                    Some(k) => k,
                    None => {
                        pre_traces.push(PreTraces::new(pre, lag, &rule, n_pre, dt));
                        pre_traces.len() - 1
                    }
                };
                let initial = proj.weights.take().expect("Projection::build draws them");
                let (p, states) = PlasticProjection::new(
                    rule,
                    (slot, traces, pre_trace),
                    &proj.tables,
                    n_pre,
                    initial,
                );
                for (c, state) in chunks[range].iter_mut().zip(states) {
                    c.plastic.push(state);
                }
                proj.plastic = Some(p);
            }
            projections.push(proj);
        }
        let outputs: Vec<Output> = populations
            .iter()
            .enumerate()
            .map(|(p, pop)| Output {
                ring: SpikeRing::new(max_delay[p]),
                post: (!pop.model.is_source()).then(|| Classified::new(pop.size, dt, 0)),
                pre: lags[p]
                    .iter()
                    .map(|&lag| Classified::new(pop.size, dt, lag))
                    .collect(),
            })
            .collect();
        for g in &mut stp {
            g.efficacies = vec![Vec::new(); outputs[g.pre].ring.len()];
        }
        Network {
            dt,
            step: 0,
            populations,
            chunks,
            outputs,
            projections,
            stp,
            pre_traces,
            injectors: spec.injectors.clone(),
            incoming,
            parallel: rayon::current_num_threads() > 1,
        }
    }

    /// Simulated time at the start of the next step, s.
    pub fn time(&self) -> f64 {
        self.step as f64 * self.dt
    }

    /// Index of the population called `name`.
    pub fn population_index(&self, name: &str) -> Option<usize> {
        self.populations.iter().position(|p| p.name == name)
    }

    /// Total number of synapses.
    pub fn synapses(&self) -> u64 {
        self.projections.iter().map(Projection::synapses).sum()
    }

    /// Spikes of population `p` emitted at step `n` (valid while `n` is within the ring).
    pub fn spikes_at(&self, p: usize, n: u64) -> &[u32] {
        self.outputs[p].ring.slot(n)
    }

    /// Runs `f` on every chunk, in parallel when enabled; chunks never depend on the thread count.
    fn for_each_chunk(&mut self, f: impl Fn(&mut Chunk) + Sync + Send) {
        if self.parallel {
            // One task per thread: fewer, larger tasks cost less to schedule every step.
            let per_task = self.chunks.len().div_ceil(rayon::current_num_threads());
            self.chunks
                .par_iter_mut()
                .with_min_len(per_task)
                .for_each(f);
        } else {
            self.chunks.iter_mut().for_each(f);
        }
    }

    /// One step of dt. `monitor` is called with the step index in the device phase, after the
    /// injectors, and sees this step's spikes and classifications.
    pub fn step(&mut self, monitor: &mut dyn FnMut(&Network, u64)) {
        let n = self.step;
        // 1. Neurons: every chunk integrates and emits the spikes of step n.
        self.for_each_chunk(|c| {
            c.spikes.clear();
            c.neurons.update(&mut c.rng, &mut c.spikes);
        });
        self.collect_spikes(n);
        // 2. Connections: classify spikes, release STP, deliver w·ε to target chunks.
        self.classify(n);
        self.release_stp(n);
        self.count_pre_events();
        self.deliver(n);
        // 3. Devices: current injectors add dt·I/C; monitors record.
        self.inject(n);
        monitor(self, n);
        // 4. Traces: burst detectors count this step's (and delayed) spikes.
        self.count_traces(n);
        // 5. Clock.
        self.step += 1;
    }

    /// Joins the chunks' spike lists into each population's ring slot, in chunk order.
    fn collect_spikes(&mut self, n: u64) {
        for (p, pop) in self.populations.iter().enumerate() {
            let slot = self.outputs[p].ring.slot_mut(n);
            for c in &self.chunks[pop.chunks.clone()] {
                let base = (c.index * CHUNK) as u32;
                slot.extend(c.spikes.iter().map(|&s| base + s));
            }
        }
    }

    fn classify(&mut self, n: u64) {
        for out in &mut self.outputs {
            let spikes = out.ring.slot(n);
            for cl in out.post.iter_mut().chain(out.pre.iter_mut()) {
                cl.detector
                    .classify(spikes, n, &mut cl.events, &mut cl.bursts);
            }
        }
    }

    fn release_stp(&mut self, n: u64) {
        for g in &mut self.stp {
            let len = g.efficacies.len() as u64;
            let eff = &mut g.efficacies[(n % len) as usize];
            g.state.release(self.outputs[g.pre].ring.slot(n), n, eff);
        }
    }

    /// Presynaptic event traces of plastic projections count this step's events before delivery.
    fn count_pre_events(&mut self) {
        for t in &mut self.pre_traces {
            t.count(&Self::pre_classified(&self.outputs[t.pre], t.lag).events);
        }
    }

    /// The presynaptic detector of `out` with `lag`.
    fn pre_classified(out: &Output, lag: usize) -> &Classified {
        out.pre
            .iter()
            .find(|cl| cl.detector.lag == lag)
            .expect("a detector exists for every filtered or plastic projection")
    }

    /// Delivery: one task per target chunk adds its incoming projections in order.
    fn deliver(&mut self, n: u64) {
        let (projections, outputs, stp, incoming, pre_traces) = (
            &self.projections,
            &self.outputs,
            &self.stp,
            &self.incoming,
            &self.pre_traces,
        );
        let deliver_chunk = |c: &mut Chunk| {
            for &pi in &incoming[c.population] {
                let proj = &projections[pi];
                let spec = &proj.spec;
                let out = &outputs[spec.pre];
                if let Some(p) = &proj.plastic {
                    let base = (c.index * CHUNK) as u32;
                    let in_chunk = |ids: &[u32]| chunk_range(ids, base);
                    let post = outputs[spec.post]
                        .post
                        .as_ref()
                        .expect("plastic targets are neurons");
                    let pre = Self::pre_classified(&outputs[spec.pre], spec.detector_lag);
                    let transmit = match spec.transmission {
                        Transmission::All => Transmit::Spikes {
                            spikes: out.ring.delayed(n, spec.delay),
                            efficacies: spec.stp.map(|g| stp[g].delayed(n, spec.delay)),
                        },
                        _ => Transmit::Events,
                    };
                    let g = c
                        .neurons
                        .conductance_mut(spec.compartment, spec.receptor)
                        .expect("targets were validated when the network was specified");
                    p.deliver(
                        c.index,
                        base,
                        &proj.tables[c.index],
                        &mut c.plastic[p.slot],
                        &c.post_traces[p.traces],
                        &pre_traces[p.pre_traces].trace,
                        &pre.events,
                        transmit,
                        &post.events[in_chunk(&post.events)],
                        &post.bursts[in_chunk(&post.bursts)],
                        g,
                    );
                    continue;
                }
                let (spikes, eff) = match spec.transmission {
                    Transmission::All => (
                        out.ring.delayed(n, spec.delay),
                        spec.stp.map(|g| stp[g].delayed(n, spec.delay)),
                    ),
                    Transmission::EventsOnly | Transmission::BurstsOnly => {
                        let cl = Self::pre_classified(out, spec.detector_lag);
                        let list = if spec.transmission == Transmission::EventsOnly {
                            &cl.events
                        } else {
                            &cl.bursts
                        };
                        (list.as_slice(), None)
                    }
                };
                // One-to-one projections only reach this chunk from its own id range.
                let (spikes, eff) = if spec.rule == Rule::OneToOne {
                    let r = chunk_range(spikes, (c.index * CHUNK) as u32);
                    (&spikes[r.clone()], eff.map(|e| &e[r]))
                } else {
                    (spikes, eff)
                };
                if spikes.is_empty() {
                    continue;
                }
                let g = c
                    .neurons
                    .conductance_mut(spec.compartment, spec.receptor)
                    .expect("targets were validated when the network was specified");
                proj.deliver(c.index, spikes, eff, g);
            }
            for d in &mut c.drives {
                let g = c
                    .neurons
                    .conductance_mut(d.compartment, d.receptor)
                    .expect("drives were validated when the network was specified");
                d.deliver(g);
            }
        };
        if self.parallel {
            let per_task = self.chunks.len().div_ceil(rayon::current_num_threads());
            self.chunks
                .par_iter_mut()
                .with_min_len(per_task)
                .for_each(deliver_chunk);
        } else {
            self.chunks.iter_mut().for_each(deliver_chunk);
        }
    }

    fn inject(&mut self, n: u64) {
        let t = n as f64 * self.dt;
        for inj in &self.injectors {
            if let Some(currents) = &inj.per_neuron {
                let range = self.populations[inj.population].chunks.clone();
                for c in &mut self.chunks[range] {
                    let base = c.index * CHUNK;
                    if let Some((v, gain)) = c.neurons.injection_mut(inj.compartment) {
                        for (x, &i) in v.iter_mut().zip(&currents[base..]) {
                            *x += gain * i as Real;
                        }
                    }
                }
            }
            let current = inj.waveform.at(t);
            if current == 0.0 {
                continue;
            }
            let range = self.populations[inj.population].chunks.clone();
            for c in &mut self.chunks[range] {
                let base = (c.index * CHUNK) as u32;
                let Some((v, gain)) = c.neurons.injection_mut(inj.compartment) else {
                    continue;
                };
                let dv = gain * current as Real;
                match &inj.neurons {
                    None => shift(v, dv),
                    Some(ids) => {
                        for &i in &ids[chunk_range(ids, base)] {
                            v[(i - base) as usize] += dv;
                        }
                    }
                }
            }
        }
    }

    fn count_traces(&mut self, n: u64) {
        for t in &mut self.pre_traces {
            t.decay();
        }
        for c in self.chunks.iter_mut().filter(|c| !c.post_traces.is_empty()) {
            let post = self.outputs[c.population]
                .post
                .as_ref()
                .expect("plastic targets are neurons");
            let base = (c.index * CHUNK) as u32;
            let (events, bursts) = (
                &post.events[chunk_range(&post.events, base)],
                &post.bursts[chunk_range(&post.bursts, base)],
            );
            for t in &mut c.post_traces {
                t.count(base, events, bursts, &c.spikes);
            }
        }
        for out in &mut self.outputs {
            if let Some(post) = &mut out.post {
                post.detector.count(out.ring.slot(n), n);
            }
            for cl in &mut out.pre {
                cl.detector.count(out.ring.delayed(n, cl.detector.lag), n);
            }
        }
    }

    /// Out-degree of every neuron summed over its projections (empty for a population without
    /// outgoing synapses), for counting synaptic events.
    pub fn fanout(&self) -> Vec<Vec<u32>> {
        let mut fan: Vec<Vec<u32>> = vec![Vec::new(); self.populations.len()];
        for proj in &self.projections {
            let f = &mut fan[proj.spec.pre];
            f.resize(self.populations[proj.spec.pre].size, 0);
            for table in &proj.tables {
                for (i, d) in f.iter_mut().enumerate() {
                    *d += table.row(i).len() as u32;
                }
            }
        }
        fan
    }

    /// Index of the projection called `name`.
    pub fn projection_index(&self, name: &str) -> Option<usize> {
        self.projections.iter().position(|p| p.spec.name == name)
    }

    /// Switches the weight changes of plastic projection `proj` on or off (traces keep running).
    pub fn set_plastic(&mut self, proj: usize, on: bool) {
        if let Some(p) = &mut self.projections[proj].plastic {
            p.plastic = on;
        }
    }

    /// The state of plastic projection `proj` in each of its target chunks, in chunk order
    /// (None if it is not plastic).
    fn plastic_chunks(&self, proj: usize) -> Option<impl Iterator<Item = &PlasticChunk>> {
        let p = self.projections[proj].plastic.as_ref()?;
        let range = self.populations[self.projections[proj].spec.post]
            .chunks
            .clone();
        Some(self.chunks[range].iter().map(|c| &c.plastic[p.slot]))
    }

    /// Every synapse of plastic projection `proj` as (presynaptic id, postsynaptic id, weight),
    /// ordered by postsynaptic and then presynaptic id (None if it is not plastic).
    pub fn plastic_synapses(
        &self,
        proj: usize,
    ) -> Option<impl Iterator<Item = (u32, u32, Real)> + '_> {
        let p = self.projections[proj].plastic.as_ref()?;
        Some(
            self.plastic_chunks(proj)?
                .enumerate()
                .flat_map(move |(c, state)| {
                    let base = (c * CHUNK) as u32;
                    p.synapses_by_target(c)
                        .map(move |(i, j, k)| (j, base + i as u32, state.weights[k]))
                }),
        )
    }

    /// Sets the weights of plastic projection `proj` to `weights` (clipped to [0, w_max]),
    /// given for the synapses `sources[n] → targets[n]` in the order of
    /// [`Network::plastic_synapses`]; fails with a message if the projection is not plastic or
    /// the synapses are not exactly its own.
    pub fn set_plastic_weights(
        &mut self,
        proj: usize,
        sources: &[u64],
        targets: &[u64],
        weights: &[Real],
    ) -> std::result::Result<(), String> {
        let other =
            "the file was written by a network with other populations, connectivity or seed";
        let p = self.projections[proj]
            .plastic
            .as_ref()
            .ok_or("it is not plastic")?;
        let here = || self.plastic_synapses(proj).into_iter().flatten();
        let count = here().count();
        if count != sources.len() || count != targets.len() || count != weights.len() {
            return Err(format!(
                "it has {count} synapses here and {} node ids and {} weights in the file: {other}",
                sources.len(),
                weights.len()
            ));
        }
        let file = sources.iter().zip(targets);
        if let Some((n, ((j, i, _), (&s, &t)))) = here()
            .zip(file)
            .enumerate()
            .find(|(_, ((j, i, _), (&s, &t)))| (*j as u64, *i as u64) != (s, t))
        {
            return Err(format!(
                "its synapse {n} is {j} → {i} here but {s} → {t} in the file: {other}"
            ));
        }
        // Same order as plastic_synapses: chunk by chunk, each by target and source.
        let w_max = p.rule.w_max as Real;
        let range = self.populations[self.projections[proj].spec.post]
            .chunks
            .clone();
        let mut from = weights.iter();
        for (c, chunk) in self.chunks[range].iter_mut().enumerate() {
            let state = &mut chunk.plastic[p.slot];
            for ((_, _, k), &w) in p.synapses_by_target(c).zip(&mut from) {
                state.weights[k] = w.clamp(0.0, w_max);
            }
        }
        Ok(())
    }

    /// Sum of the weights of plastic projection `proj` (None if it is not plastic).
    pub fn weight_sum(&self, proj: usize) -> Option<f64> {
        Some(
            self.plastic_chunks(proj)?
                .map(|c| c.weights.iter().map(|&w| w as f64).sum::<f64>())
                .sum(),
        )
    }

    /// The burst term's running sums of plastic projection `proj` (None if it is not plastic),
    /// added over its target chunks in chunk order.
    pub fn rule_sums(&self, proj: usize) -> Option<RuleSums> {
        Some(
            self.plastic_chunks(proj)?
                .fold(RuleSums::default(), |s, c| s + c.sums),
        )
    }

    /// Ē of postsynaptic neuron `i` of plastic projection `proj`, Hz (the event-rate trace).
    pub fn post_event_rate(&self, proj: usize, i: usize) -> Option<f64> {
        let p = self.projections[proj].plastic.as_ref()?;
        let c = &self.chunks[self.populations[self.projections[proj].spec.post]
            .chunks
            .start
            + i / CHUNK];
        Some(c.post_traces[p.traces].e_trace[i % CHUNK] as f64 / p.rule.tau_avg)
    }

    /// Checks every population's first state column (a membrane potential) for NaN or infinity.
    pub fn find_instability(&self) -> Option<usize> {
        self.chunks.iter().find_map(|c| {
            let names = c.neurons.state_names();
            (!names.is_empty() && c.neurons.state(0).iter().any(|v| !v.is_finite()))
                .then_some(c.population)
        })
    }

    /// Which compartments a population's model has, for validation.
    pub fn compartments(&self, p: usize) -> &'static [Compartment] {
        self.populations[p].model.compartments()
    }
}

/// The positions in the ascending population ids `ids` that fall in the chunk starting at `base`.
fn chunk_range(ids: &[u32], base: u32) -> std::ops::Range<usize> {
    ids.partition_point(|&s| s < base)..ids.partition_point(|&s| s < base + CHUNK as u32)
}
