//! The layered sigmoid network and its learning rules: BurstCCN, backprop, feedback alignment
//! and Burstprop, on mini-batches of row vectors [G22 §2.2; BCN `layers_burstccn.py`,
//! `layers_burstprop.py`].
//!
//! Storage follows the reference code (see the module doc of [`crate::rate`] for the sign
//! convention): `w[k]` is `n_(k+1) × n_k` row-major, the feedback `y[k]`, `q[k]` of hidden
//! layer k has the shape of `w[k+1]`, activities are `B × n` row-major.

use super::linalg::{angle_deg, matmul, sigmoid, Threads, View};
use crate::engine::rng::{stream, Purpose, Rng};
use crate::error::{Error, Result};
use crate::Real;
use rand::Rng as _;

/// The learning rule that produces the weight updates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// Burst-dependent learning with cancelling Q feedback [G22 Eqs 1–2].
    BurstCcn,
    /// Gradient of ½‖e_L − t‖² (the "ANN" baseline).
    Backprop,
    /// Feedback alignment: the backprop recursion with Y in place of Wᵀ [Lillicrap 2016].
    FeedbackAlignment,
    /// Payeur et al. 2021, discrete two-pass version [BCN `layers_burstprop.py`].
    Burstprop,
}

impl Algorithm {
    /// The names accepted in experiment files.
    pub const NAMES: [&'static str; 4] = ["burstccn", "backprop", "fa", "burstprop"];

    /// Parses one of [`Algorithm::NAMES`].
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "burstccn" => Some(Algorithm::BurstCcn),
            "backprop" => Some(Algorithm::Backprop),
            "fa" => Some(Algorithm::FeedbackAlignment),
            "burstprop" => Some(Algorithm::Burstprop),
            _ => None,
        }
    }
}

/// How the burst feedback Y is initialised and maintained [BCN `networks_burstccn.py`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum YMode {
    /// N(0, Y_scale²), independent of W.
    Random,
    /// Y_k = Y_scale·W_(k+1) at initialisation (the paper's W–Y symmetric state).
    Symmetric,
    /// Y_k = Y_scale·W_(k+1) after every update (weight transport).
    Tied,
}

/// How the event feedback Q is initialised and maintained [BCN `networks_burstccn.py`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QMode {
    /// N(0, Q_scale²).
    Random,
    /// Q_k = p_b·Y_k at initialisation (the paper's Q–Y symmetric state).
    Symmetric,
    /// Q_k = p_b·Y_k after every update.
    Tied,
    /// Q_k = p_b·Q_scale·W_(k+1) at initialisation.
    WSymmetric,
}

/// Everything that defines a network and its learning rule; learning rates are per step.
#[derive(Clone, Debug)]
pub struct ModelSpec {
    /// Layer sizes, input first: `[784, 500, 500, 500, 10]` is the paper's 5-layer network.
    pub sizes: Vec<usize>,
    pub algorithm: Algorithm,
    /// Baseline burst probability p_b (dimensionless, in (0, 1)).
    pub p_baseline: Real,
    /// Learning rate of W and biases (all layers).
    pub lr: Real,
    pub momentum: Real,
    pub weight_decay: Real,
    /// Gain of the Xavier-normal initialisation of W (3.6 in [BCN]).
    pub weight_gain: Real,
    pub y_mode: YMode,
    pub y_scale: Real,
    pub y_learning: bool,
    pub lr_y: Real,
    pub q_mode: QMode,
    pub q_scale: Real,
    pub q_learning: bool,
    pub lr_q: Real,
    /// Burstprop only: recurrent apical weights W_r that learn to cancel the apical input.
    pub recurrent: bool,
    pub lr_recurrent: Real,
    /// Burstprop only: SD of the N(0, SD²) initialisation of W_r.
    pub recurrent_scale: Real,
}

impl ModelSpec {
    /// The notebook recipe for MNIST [BCN `Training BurstCCN on MNIST.ipynb`] with the given sizes.
    pub fn burstccn(sizes: Vec<usize>) -> Self {
        ModelSpec {
            sizes,
            algorithm: Algorithm::BurstCcn,
            p_baseline: 0.5,
            lr: 0.3,
            momentum: 0.0,
            weight_decay: 0.0,
            weight_gain: 3.6,
            y_mode: YMode::Random,
            y_scale: 0.5,
            y_learning: false,
            lr_y: 0.0,
            q_mode: QMode::Symmetric,
            q_scale: 1.0,
            q_learning: true,
            lr_q: 7.31e-4,
            recurrent: true,
            lr_recurrent: 1e-4,
            recurrent_scale: 0.01,
        }
    }

    /// Checks the invariants the update rules rely on; `file` names the source in messages.
    pub fn validate(&self, file: &str) -> Result<()> {
        if self.sizes.len() < 2 || self.sizes.contains(&0) {
            return Err(Error::config(
                file,
                "hidden_layers",
                "the network needs an input and an output layer, each with at least one unit",
            ));
        }
        if !(self.p_baseline > 0.0 && self.p_baseline < 1.0) {
            return Err(Error::config(
                file,
                "p_baseline",
                format!("{} is outside (0, 1)", self.p_baseline),
            ));
        }
        // σ(0) = 1/2 is the hidden baseline burst probability, so a cancelled apical input only
        // leaves ΔW = 0 when p_b = 1/2 (rate_model.md §1, "Baseline constraint").
        if self.algorithm == Algorithm::BurstCcn
            && matches!(self.q_mode, QMode::Symmetric | QMode::Tied)
            && (self.p_baseline != 0.5 || self.q_scale != 1.0)
        {
            return Err(Error::config(
                file,
                "p_baseline",
                "q_mode \"symmetric\" and \"tied\" need p_baseline = 0.5 and q_scale = 1 \
                 (the hidden baseline burst probability is σ(0) = 0.5)",
            ));
        }
        for (key, v) in [
            ("lr", self.lr),
            ("lr_q", self.lr_q),
            ("lr_y", self.lr_y),
            ("lr_recurrent", self.lr_recurrent),
            ("momentum", self.momentum),
            ("weight_decay", self.weight_decay),
            ("weight_gain", self.weight_gain),
            ("y_scale", self.y_scale),
            ("q_scale", self.q_scale),
            ("recurrent_scale", self.recurrent_scale),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::config(
                    file,
                    key,
                    format!("must be a finite number ≥ 0, found {v}"),
                ));
            }
        }
        Ok(())
    }
}

/// Angles (degrees) between this step's updates and reference updates, per layer and global.
#[derive(Clone, Debug, Default)]
pub struct Angles {
    /// To the backprop update, per layer (input side first).
    pub bp: Vec<f64>,
    pub bp_global: f64,
    /// To the feedback-alignment update.
    pub fa: Vec<f64>,
    pub fa_global: f64,
}

/// What one training step measured.
#[derive(Clone, Debug)]
pub struct StepStats {
    /// Sum over the batch of the per-sample mean squared output error.
    pub loss_sum: f64,
    /// Misclassified samples in the batch (before the update).
    pub errors: usize,
    pub angles: Option<Angles>,
}

/// A sigmoid MLP with feedback pathways, its learning rule and preallocated buffers.
pub struct Network {
    spec: ModelSpec,
    /// Multiplies every learning rate of the spec (the epoch's schedule factor, 1 by default).
    lr_scale: Real,
    threads: Threads,
    /// Rows currently held in the activity buffers.
    batch: usize,
    // Parameters, indexed by layer k = 0…L−1 (layer k maps sizes[k] → sizes[k+1]).
    w: Vec<Vec<Real>>,
    c: Vec<Vec<Real>>,
    /// Burst feedback of hidden layer k (shape of w[k+1]); empty for the output layer.
    y: Vec<Vec<Real>>,
    /// Event feedback of hidden layer k (shape of w[k+1]).
    q: Vec<Vec<Real>>,
    /// Burstprop recurrent apical weights of hidden layer k (n × n).
    wr: Vec<Vec<Real>>,
    vel_w: Vec<Vec<Real>>,
    vel_c: Vec<Vec<Real>>,
    // Activities, B × n each.
    input: Vec<Real>,
    e: Vec<Vec<Real>>,
    /// Burst rate without teacher (Burstprop's measured baseline).
    b: Vec<Vec<Real>>,
    /// Burst rate with teacher.
    bt: Vec<Vec<Real>>,
    /// Apical potential u (BurstCCN: a_l of the code; Burstprop: the no-teacher u).
    apical: Vec<Vec<Real>>,
    /// Burstprop: σ(fb)·e, the burst rate that drives W_r.
    b_pre: Vec<Vec<Real>>,
    scratch: Vec<Vec<Real>>,
    delta: Vec<Vec<Real>>,
    delta_bp: Vec<Vec<Real>>,
    delta_fa: Vec<Vec<Real>>,
    // Gradients (batch means), shape of w and c.
    grad_w: Vec<Vec<Real>>,
    grad_c: Vec<Vec<Real>>,
    grad_w_bp: Vec<Vec<Real>>,
    grad_w_fa: Vec<Vec<Real>>,
}

/// One N(0, 1) draw (Box–Muller; rand 0.9 has no normal distribution without rand_distr).
fn normal(rng: &mut Rng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn normal_matrix(rng: &mut Rng, len: usize, sd: f64) -> Vec<Real> {
    (0..len).map(|_| (sd * normal(rng)) as Real).collect()
}

/// Stream ids for the initialisation of each parameter kind, so adding one never shifts another.
const INIT_W: u64 = 0;
const INIT_Y: u64 = 1;
const INIT_Q: u64 = 2;
const INIT_WR: u64 = 3;

impl Network {
    /// Builds and initialises a network [BCN `networks_burstccn.py` `_initialize_weights`]:
    /// W Xavier-normal with gain, biases 0, Y and Q per their modes. `seed` selects the streams.
    pub fn new(spec: ModelSpec, seed: u64, threads: usize) -> Result<Self> {
        spec.validate("model")?;
        let n_layers = spec.sizes.len() - 1;
        let size = |k: usize| spec.sizes[k + 1];
        let fan = |k: usize| spec.sizes[k] * spec.sizes[k + 1];
        let mut w = Vec::with_capacity(n_layers);
        for k in 0..n_layers {
            let sd =
                spec.weight_gain as f64 * (2.0 / (spec.sizes[k] + spec.sizes[k + 1]) as f64).sqrt();
            w.push(normal_matrix(
                &mut stream(seed, Purpose::Init, &[k as u64, INIT_W]),
                fan(k),
                sd,
            ));
        }
        let hidden = |k: usize| k + 1 < n_layers;
        let mut y = Vec::with_capacity(n_layers);
        let mut q = Vec::with_capacity(n_layers);
        let mut wr = Vec::with_capacity(n_layers);
        for k in 0..n_layers {
            if !hidden(k) {
                y.push(Vec::new());
                q.push(Vec::new());
                wr.push(Vec::new());
                continue;
            }
            let yk = match spec.y_mode {
                YMode::Random => normal_matrix(
                    &mut stream(seed, Purpose::Init, &[k as u64, INIT_Y]),
                    fan(k + 1),
                    spec.y_scale as f64,
                ),
                YMode::Symmetric | YMode::Tied => {
                    w[k + 1].iter().map(|&x| spec.y_scale * x).collect()
                }
            };
            let qk = match spec.q_mode {
                QMode::Random => normal_matrix(
                    &mut stream(seed, Purpose::Init, &[k as u64, INIT_Q]),
                    fan(k + 1),
                    spec.q_scale as f64,
                ),
                QMode::Symmetric | QMode::Tied => yk.iter().map(|&x| spec.p_baseline * x).collect(),
                QMode::WSymmetric => w[k + 1]
                    .iter()
                    .map(|&x| spec.p_baseline * spec.q_scale * x)
                    .collect(),
            };
            let wrk = if spec.algorithm == Algorithm::Burstprop && spec.recurrent {
                normal_matrix(
                    &mut stream(seed, Purpose::Init, &[k as u64, INIT_WR]),
                    size(k) * size(k),
                    spec.recurrent_scale as f64,
                )
            } else {
                Vec::new()
            };
            y.push(yk);
            q.push(qk);
            wr.push(wrk);
        }
        let zeros_w = || (0..n_layers).map(|k| vec![0.0; fan(k)]).collect::<Vec<_>>();
        let zeros_c = || {
            (0..n_layers)
                .map(|k| vec![0.0; size(k)])
                .collect::<Vec<_>>()
        };
        let momentum = spec.momentum > 0.0;
        Ok(Network {
            lr_scale: 1.0,
            threads: Threads(threads.max(1)),
            batch: 0,
            c: zeros_c(),
            vel_w: if momentum {
                zeros_w()
            } else {
                vec![Vec::new(); n_layers]
            },
            vel_c: if momentum {
                zeros_c()
            } else {
                vec![Vec::new(); n_layers]
            },
            w,
            y,
            q,
            wr,
            input: Vec::new(),
            e: vec![Vec::new(); n_layers],
            b: vec![Vec::new(); n_layers],
            bt: vec![Vec::new(); n_layers],
            apical: vec![Vec::new(); n_layers],
            b_pre: vec![Vec::new(); n_layers],
            scratch: vec![Vec::new(); n_layers],
            delta: vec![Vec::new(); n_layers],
            delta_bp: vec![Vec::new(); n_layers],
            delta_fa: vec![Vec::new(); n_layers],
            grad_w: zeros_w(),
            grad_c: zeros_c(),
            grad_w_bp: zeros_w(),
            grad_w_fa: zeros_w(),
            spec,
        })
    }

    /// The specification this network was built from.
    /// Scales every learning rate (W, biases, Q, Y, W_r) by `f` from the next step on: the
    /// learning-rate schedule of [`super::config::LrSchedule`].
    pub fn set_lr_scale(&mut self, f: Real) {
        self.lr_scale = f;
    }

    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    /// Number of weight layers L.
    pub fn n_layers(&self) -> usize {
        self.w.len()
    }

    fn width(&self, k: usize) -> usize {
        self.spec.sizes[k + 1]
    }

    fn is_hidden(&self, k: usize) -> bool {
        k + 1 < self.n_layers()
    }

    /// Grows the activity buffers to hold `rows` rows (allocation happens once per size).
    fn reserve(&mut self, rows: usize) {
        self.batch = rows;
        let n_in = self.spec.sizes[0];
        if self.input.len() < rows * n_in {
            self.input.resize(rows * n_in, 0.0);
        }
        for k in 0..self.n_layers() {
            let len = rows * self.width(k);
            for buf in [
                &mut self.e[k],
                &mut self.b[k],
                &mut self.bt[k],
                &mut self.apical[k],
                &mut self.b_pre[k],
                &mut self.scratch[k],
                &mut self.delta[k],
                &mut self.delta_bp[k],
                &mut self.delta_fa[k],
            ] {
                if buf.len() < len {
                    buf.resize(len, 0.0);
                }
            }
        }
    }

    /// Forward pass on `rows` inputs `x` (rows × n_0, row-major): e_l = σ(e_(l−1) W_lᵀ + c_l).
    /// Returns the output event rates (rows × n_L).
    pub fn forward(&mut self, x: &[Real], rows: usize) -> &[Real] {
        let n_in = self.spec.sizes[0];
        assert_eq!(x.len(), rows * n_in, "input batch has the wrong size");
        self.reserve(rows);
        self.input[..x.len()].copy_from_slice(x);
        for k in 0..self.n_layers() {
            let (n_prev, n) = (self.spec.sizes[k], self.width(k));
            let (before, rest) = self.e.split_at_mut(k);
            let prev: &[Real] = if k == 0 {
                &self.input[..rows * n_prev]
            } else {
                &before[k - 1][..rows * n_prev]
            };
            let out = &mut rest[0][..rows * n];
            matmul(
                out,
                View::new(prev, rows, n_prev),
                View::new(&self.w[k], n, n_prev).t(),
                0.0,
                1.0,
                self.threads,
            );
            for row in out.chunks_exact_mut(n) {
                for (v, &c) in row.iter_mut().zip(&self.c[k]) {
                    *v = sigmoid(*v + c);
                }
            }
        }
        let last = self.n_layers() - 1;
        &self.e[last][..rows * self.width(last)]
    }

    /// Backward pass: the learning rule's deltas δ_l = −(b_t − b) (or the gradient for the ANN
    /// baselines), for targets `t` (rows × n_L) or, with `None`, without teacher (t := e).
    /// `references` also computes the backprop and FA deltas for angle measurement.
    fn backward(&mut self, t: Option<&[Real]>, references: bool) {
        let rows = self.batch;
        let last = self.n_layers() - 1;
        let n_out = self.width(last);
        let pb = self.spec.p_baseline;
        let alg = self.spec.algorithm;
        let need_bp = references || alg == Algorithm::Backprop;
        let need_fa = references || alg == Algorithm::FeedbackAlignment;
        // Output layer: p_t = p_b((t − e)(1 − e) + 1), b = p_b·e, b_t = p_t·e [G22 Eq. for p_L].
        {
            let e = &self.e[last][..rows * n_out];
            for i in 0..rows * n_out {
                let ei = e[i];
                let err = t.map_or(0.0, |t| t[i] - ei);
                let pt = pb * (err * (1.0 - ei) + 1.0);
                self.b[last][i] = pb * ei;
                self.bt[last][i] = pt * ei;
                let grad = -err * ei * (1.0 - ei);
                self.delta_bp[last][i] = grad;
                self.delta_fa[last][i] = grad;
                self.delta[last][i] = match alg {
                    Algorithm::BurstCcn | Algorithm::Burstprop => -(pt * ei - pb * ei),
                    Algorithm::Backprop | Algorithm::FeedbackAlignment => grad,
                };
            }
        }
        for k in (0..last).rev() {
            let (n, n_up) = (self.width(k), self.width(k + 1));
            let len = rows * n;
            let y = View::new(&self.y[k], n_up, n);
            if need_bp {
                let (lo, hi) = self.delta_bp.split_at_mut(k + 1);
                matmul(
                    &mut lo[k][..len],
                    View::new(&hi[0][..rows * n_up], rows, n_up),
                    View::new(&self.w[k + 1], n_up, n),
                    0.0,
                    1.0,
                    self.threads,
                );
                for (d, &e) in lo[k][..len].iter_mut().zip(&self.e[k][..len]) {
                    *d *= e * (1.0 - e);
                }
            }
            if need_fa {
                let (lo, hi) = self.delta_fa.split_at_mut(k + 1);
                matmul(
                    &mut lo[k][..len],
                    View::new(&hi[0][..rows * n_up], rows, n_up),
                    y,
                    0.0,
                    1.0,
                    self.threads,
                );
                for (d, &e) in lo[k][..len].iter_mut().zip(&self.e[k][..len]) {
                    *d *= e * (1.0 - e);
                }
            }
            match alg {
                Algorithm::Backprop => {
                    let (d, src) = (&mut self.delta[k], &self.delta_bp[k]);
                    d[..len].copy_from_slice(&src[..len]);
                }
                Algorithm::FeedbackAlignment => {
                    let (d, src) = (&mut self.delta[k], &self.delta_fa[k]);
                    d[..len].copy_from_slice(&src[..len]);
                }
                Algorithm::BurstCcn => self.backward_burstccn(k),
                Algorithm::Burstprop => self.backward_burstprop(k),
            }
        }
    }

    /// Hidden BurstCCN layer k [BCN form of G22 Eq. 1]: a = b_t,(k+1)·Y − e_(k+1)·Q,
    /// p_t = σ(4·a ⊙ (1 − e)), δ = −(p_t − p_b)·e.
    fn backward_burstccn(&mut self, k: usize) {
        let rows = self.batch;
        let (n, n_up) = (self.width(k), self.width(k + 1));
        let len = rows * n;
        let pb = self.spec.p_baseline;
        let a = &mut self.apical[k][..len];
        matmul(
            a,
            View::new(&self.bt[k + 1][..rows * n_up], rows, n_up),
            View::new(&self.y[k], n_up, n),
            0.0,
            1.0,
            self.threads,
        );
        matmul(
            a,
            View::new(&self.e[k + 1][..rows * n_up], rows, n_up),
            View::new(&self.q[k], n_up, n),
            1.0,
            -1.0,
            self.threads,
        );
        let e = &self.e[k][..len];
        for i in 0..len {
            let pt = sigmoid(4.0 * a[i] * (1.0 - e[i]));
            self.b[k][i] = pb * e[i];
            self.bt[k][i] = pt * e[i];
            self.delta[k][i] = -(pt - pb) * e[i];
        }
    }

    /// Hidden Burstprop layer k [BCN `layers_burstprop.py`]: fb = b_(k+1)·Y (no teacher),
    /// fb_t = b_t,(k+1)·Y; b_pre = σ(fb)·e; p = σ(fb(1 − e) − b_pre W_rᵀ) and likewise p_t;
    /// δ = −(p_t − p)·e. No ×4 gain.
    fn backward_burstprop(&mut self, k: usize) {
        let rows = self.batch;
        let (n, n_up) = (self.width(k), self.width(k + 1));
        let len = rows * n;
        let y = View::new(&self.y[k], n_up, n);
        // fb (no teacher) into apical, fb_t into scratch.
        matmul(
            &mut self.apical[k][..len],
            View::new(&self.b[k + 1][..rows * n_up], rows, n_up),
            y,
            0.0,
            1.0,
            self.threads,
        );
        matmul(
            &mut self.scratch[k][..len],
            View::new(&self.bt[k + 1][..rows * n_up], rows, n_up),
            y,
            0.0,
            1.0,
            self.threads,
        );
        let recurrent = self.spec.recurrent;
        {
            let (fb, e) = (&self.apical[k][..len], &self.e[k][..len]);
            for (bp, (&f, &ei)) in self.b_pre[k][..len].iter_mut().zip(fb.iter().zip(e)) {
                *bp = sigmoid(f) * ei;
            }
            let (fb_t, ap) = (&mut self.scratch[k][..len], &mut self.apical[k][..len]);
            for i in 0..len {
                ap[i] *= 1.0 - e[i];
                fb_t[i] *= 1.0 - e[i];
            }
        }
        if recurrent {
            // Subtract the recurrent prediction b_pre·W_rᵀ from both passes.
            let bp = View::new(&self.b_pre[k][..len], rows, n);
            let wr = View::new(&self.wr[k], n, n).t();
            matmul(&mut self.apical[k][..len], bp, wr, 1.0, -1.0, self.threads);
            matmul(&mut self.scratch[k][..len], bp, wr, 1.0, -1.0, self.threads);
        }
        let (u, u_t) = (&self.apical[k][..len], &self.scratch[k][..len]);
        let (b, bt, delta) = (&mut self.b[k], &mut self.bt[k], &mut self.delta[k]);
        for (i, &ei) in self.e[k][..len].iter().enumerate() {
            let p = sigmoid(u[i]);
            let pt = sigmoid(u_t[i]);
            b[i] = p * ei;
            bt[i] = pt * ei;
            delta[i] = -(pt - p) * ei;
        }
    }

    /// G_W = δᵀ e_prev / B, G_c = Σ_batch δ / B, into `grad` (and the references if asked).
    /// With `fused`, W is updated in the same product, W ← (1 − wd)·W − lr·G_W, which saves
    /// a pass over every weight matrix; only valid without momentum.
    fn gradients(&mut self, references: bool, fused: bool) {
        let rows = self.batch;
        let inv_b = 1.0 / rows as Real;
        for k in 0..self.n_layers() {
            let (n_prev, n) = (self.spec.sizes[k], self.width(k));
            let prev: &[Real] = if k == 0 {
                &self.input[..rows * n_prev]
            } else {
                &self.e[k - 1][..rows * n_prev]
            };
            let prev = View::new(prev, rows, n_prev);
            let one = |grad: &mut Vec<Real>, delta: &[Real]| {
                matmul(
                    grad,
                    View::new(&delta[..rows * n], rows, n).t(),
                    prev,
                    0.0,
                    inv_b,
                    self.threads,
                );
            };
            if fused {
                let keep = 1.0 - self.spec.weight_decay;
                let scale = -self.spec.lr * self.lr_scale * inv_b;
                let d = View::new(&self.delta[k][..rows * n], rows, n).t();
                matmul(&mut self.w[k], d, prev, keep, scale, self.threads);
            } else {
                one(&mut self.grad_w[k], &self.delta[k]);
            }
            if references {
                one(&mut self.grad_w_bp[k], &self.delta_bp[k]);
                one(&mut self.grad_w_fa[k], &self.delta_fa[k]);
            }
            let gc = &mut self.grad_c[k];
            gc.iter_mut().for_each(|g| *g = 0.0);
            for row in self.delta[k][..rows * n].chunks_exact(n) {
                for (g, &d) in gc.iter_mut().zip(row) {
                    *g += d * inv_b;
                }
            }
        }
    }

    /// Applies the updates of one step, all computed from pre-update weights:
    /// SGD(+momentum, weight decay on W and c as in the code) on W and c, the Q and Y rules, W_r for Burstprop, and
    /// re-ties tied feedback [BCN `update_weights`]. `w_done`: W was already updated in
    /// [`Network::gradients`].
    fn apply_updates(&mut self, w_done: bool) {
        let rows = self.batch;
        let inv_b = 1.0 / rows as Real;
        let s = &self.spec;
        let f = self.lr_scale;
        for k in 0..self.n_layers() {
            let (lr, wd, mu) = (s.lr * f, s.weight_decay, s.momentum);
            if mu > 0.0 {
                for ((w, v), &g) in self.w[k]
                    .iter_mut()
                    .zip(&mut self.vel_w[k])
                    .zip(&self.grad_w[k])
                {
                    *v = mu * *v - lr * g;
                    *w += *v - wd * *w;
                }
                for ((c, v), &g) in self.c[k]
                    .iter_mut()
                    .zip(&mut self.vel_c[k])
                    .zip(&self.grad_c[k])
                {
                    *v = mu * *v - lr * g;
                    *c += *v - wd * *c;
                }
            } else {
                if !w_done {
                    for (w, &g) in self.w[k].iter_mut().zip(&self.grad_w[k]) {
                        *w -= lr * g + wd * *w;
                    }
                }
                for (c, &g) in self.c[k].iter_mut().zip(&self.grad_c[k]) {
                    *c -= lr * g + wd * *c;
                }
            }
        }
        for k in 0..self.n_layers() {
            if !self.is_hidden(k) {
                continue;
            }
            let (n, n_up) = (self.width(k), self.width(k + 1));
            let e_up = View::new(&self.e[k + 1][..rows * n_up], rows, n_up).t();
            let a = View::new(&self.apical[k][..rows * n], rows, n);
            match s.algorithm {
                Algorithm::BurstCcn => {
                    // ΔQ = +lr_Q e_(k+1)ᵀ a / B (code form of G22 Eq. 2: drives a → 0).
                    if s.q_learning && s.q_mode != QMode::Tied {
                        matmul(
                            &mut self.q[k],
                            e_up,
                            a,
                            1.0,
                            s.lr_q * f * inv_b,
                            self.threads,
                        );
                    }
                    if s.y_learning && s.y_mode != YMode::Tied {
                        matmul(
                            &mut self.y[k],
                            e_up,
                            a,
                            1.0,
                            -s.lr_y * f * inv_b,
                            self.threads,
                        );
                    }
                }
                Algorithm::Burstprop if s.recurrent => {
                    // W_r += lr_r · uᵀ b_pre (the code does not divide by B).
                    let bp = View::new(&self.b_pre[k][..rows * n], rows, n);
                    matmul(
                        &mut self.wr[k],
                        a.t(),
                        bp,
                        1.0,
                        s.lr_recurrent * f,
                        self.threads,
                    );
                }
                _ => {}
            }
            if s.y_mode == YMode::Tied {
                let scale = s.y_scale;
                let (yk, wk) = (&mut self.y[k], &self.w[k + 1]);
                yk.iter_mut().zip(wk).for_each(|(y, &w)| *y = scale * w);
            }
            if s.q_mode == QMode::Tied {
                let pb = s.p_baseline;
                let (qk, yk) = (&mut self.q[k], &self.y[k]);
                qk.iter_mut().zip(yk).for_each(|(q, &y)| *q = pb * y);
            }
        }
    }

    /// One learning step on a batch: forward, backward (teacher `t`, or none), updates.
    /// `measure` also computes the angles to backprop and FA on the same batch.
    pub fn train_step(
        &mut self,
        x: &[Real],
        t: Option<&[Real]>,
        rows: usize,
        measure: bool,
    ) -> StepStats {
        self.forward(x, rows);
        let (loss_sum, errors) = t.map_or((0.0, 0), |t| self.loss_and_errors(t));
        self.backward(t, measure);
        let fused = !measure && self.spec.momentum == 0.0;
        self.gradients(measure, fused);
        let angles = measure.then(|| self.angles());
        self.apply_updates(fused);
        StepStats {
            loss_sum,
            errors,
            angles,
        }
    }

    /// Computes this batch's updates without applying them (for tests and analysis).
    pub fn compute_updates(&mut self, x: &[Real], t: Option<&[Real]>, rows: usize) -> Angles {
        self.forward(x, rows);
        self.backward(t, true);
        self.gradients(true, false);
        self.angles()
    }

    /// Sum over the batch of the per-sample mean squared error, and misclassifications, of the
    /// last forward pass against one-hot targets `t`.
    pub fn loss_and_errors(&self, t: &[Real]) -> (f64, usize) {
        let last = self.n_layers() - 1;
        let n = self.width(last);
        let out = &self.e[last][..self.batch * n];
        let mut loss = 0.0f64;
        let mut errors = 0;
        for (o, tr) in out.chunks_exact(n).zip(t.chunks_exact(n)) {
            loss += o
                .iter()
                .zip(tr)
                .map(|(&a, &b)| ((a - b) as f64).powi(2))
                .sum::<f64>()
                / n as f64;
            if argmax(o) != argmax(tr) {
                errors += 1;
            }
        }
        (loss, errors)
    }

    fn angles(&self) -> Angles {
        let l = self.n_layers();
        let own: Vec<&[Real]> = self.grad_w.iter().map(Vec::as_slice).collect();
        let bp: Vec<&[Real]> = self.grad_w_bp.iter().map(Vec::as_slice).collect();
        let fa: Vec<&[Real]> = self.grad_w_fa.iter().map(Vec::as_slice).collect();
        Angles {
            bp: (0..l).map(|k| angle_deg(&own[k..=k], &bp[k..=k])).collect(),
            bp_global: angle_deg(&own, &bp),
            fa: (0..l).map(|k| angle_deg(&own[k..=k], &fa[k..=k])).collect(),
            fa_global: angle_deg(&own, &fa),
        }
    }

    /// Angles (degrees) between W_(k+1) and Y_k, and between Q_k and Y_k, per hidden layer.
    pub fn weight_angles(&self) -> (Vec<f64>, Vec<f64>) {
        let hidden = 0..self.n_layers() - 1;
        let wy = hidden
            .clone()
            .map(|k| angle_deg(&[&self.w[k + 1]], &[&self.y[k]]))
            .collect();
        let qy = hidden
            .map(|k| angle_deg(&[&self.q[k]], &[&self.y[k]]))
            .collect();
        (wy, qy)
    }

    /// Mean |apical potential| of hidden layer k in the last backward pass.
    pub fn mean_abs_apical(&self, k: usize) -> f64 {
        let len = self.batch * self.width(k);
        self.apical[k][..len]
            .iter()
            .map(|&a| a.abs() as f64)
            .sum::<f64>()
            / len.max(1) as f64
    }

    /// Apical potentials of hidden layer k in the last backward pass (B × n).
    pub fn apical(&self, k: usize) -> &[Real] {
        &self.apical[k][..self.batch * self.width(k)]
    }

    /// The learning rule's last gradient of layer k (the update is −lr times it).
    pub fn grad_w(&self, k: usize) -> &[Real] {
        &self.grad_w[k]
    }

    /// The last backprop gradient of layer k (computed when references were asked for).
    pub fn grad_w_bp(&self, k: usize) -> &[Real] {
        &self.grad_w_bp[k]
    }

    /// Mutable access to the feedback matrices of hidden layer k (Y, Q), for experiments that
    /// set up special states.
    pub fn feedback_mut(&mut self, k: usize) -> (&mut Vec<Real>, &mut Vec<Real>) {
        (&mut self.y[k], &mut self.q[k])
    }

    /// Weights of layer k.
    pub fn w(&self, k: usize) -> &[Real] {
        &self.w[k]
    }

    /// Every parameter and optimiser buffer in a fixed order (for checkpoints).
    pub fn state_mut(&mut self) -> Vec<&mut Vec<Real>> {
        let mut out = Vec::new();
        for list in [
            &mut self.w,
            &mut self.c,
            &mut self.y,
            &mut self.q,
            &mut self.wr,
            &mut self.vel_w,
            &mut self.vel_c,
        ] {
            out.extend(list.iter_mut());
        }
        out
    }
}

/// Index of the largest element (first on ties).
pub fn argmax(v: &[Real]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}
