//! Extended Tsodyks–Markram short-term plasticity (spec/synapses.md §3; Costa et al. 2013;
//! [SBP src/STPeTMConnection.cpp], [AUR STPConnection.cpp]).
//!
//! State (x, u) per presynaptic neuron, shared by every projection from the same population
//! with the same parameters, because all synapses of a neuron see the same spike train.
//!
//! At a presynaptic spike (connection phase of its emission step):
//! ε = u·x with the values *before* the jump (the reference releases with the pre-spike
//! utilisation), then x ← x − u·x, u ← u + f(1 − u).
//! Recovery in the trace phase of every step (spike step included, after the jump), Euler:
//! x ← x + (dt/τ_D)(1 − x), u ← u + (dt/τ_F)(U − u).
//!
//! The recovery is linear, so k Euler steps have the closed form x ← 1 − (1 − x)(1 − dt/τ_D)^k
//! (and likewise for u). The state is therefore advanced only when a neuron spikes: the cost is
//! proportional to spikes, and the result is the reference's per-step Euler scheme, not the
//! exact exponential (to float rounding).
//!
//! **The presets use f = U, as the reference runs.** `STPeTMConnection::push_attributes` (the
//! jump u ← u + f(1 − u)) never executes: `STPConnection::push_attributes` is not virtual
//! [AUR STPConnection.h:124], and the inherited `STPConnection::propagate` calls it directly
//! [AUR STPConnection.cpp `propagate`], so the base jump u ← u + U(1 − u) applies and f (0.1 in
//! spec/synapses.md §3) is dead code. Checked on the built reference: Fig 3 rasters are
//! bit-identical with `set_f(0.1)` and `set_f(0.5)`, and a single STPeTMConnection delivers the
//! f = U efficacies of the tests below to 1e-5. The specified eTM (f = 0.1) remains available
//! as `stp = "custom"`.
//!
//! | parameter | unit | STF | STD | meaning |
//! |---|---|---|---|---|
//! | `U` | 1 | 0.02 | 0.9 | baseline utilisation |
//! | `f` | 1 | 0.02 (= U) | 0.9 (= U) | facilitation increment (spec: 0.1, unused by the reference) |
//! | `tau_d` | s | 100 ms | 20 ms | recovery of resources x |
//! | `tau_f` | s | 100 ms | 1 s | relaxation of u to U |
//! | `u_init` | 1 | 0.01 | 0.01 | initial u (published: 0.01, not U) |

use super::powers::Powers;
use crate::Real;

/// Parameters of the extended Tsodyks–Markram model.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StpParams {
    /// Baseline utilisation U (dimensionless).
    pub u_base: f64,
    /// Facilitation increment f (dimensionless).
    pub f: f64,
    /// Recovery time constant of resources, τ_D, s.
    pub tau_d: f64,
    /// Relaxation time constant of utilisation, τ_F, s.
    pub tau_f: f64,
    /// Initial utilisation u(0); 0.01 as in the published code [AUR STPConnection.cpp].
    pub u_init: f64,
}

impl StpParams {
    /// Facilitating preset: spec/synapses.md §3 table with f = U, as the reference runs it
    /// (module documentation).
    pub const FACILITATING: StpParams = StpParams {
        u_base: 0.02,
        f: 0.02,
        tau_d: 0.1,
        tau_f: 0.1,
        u_init: 0.01,
    };
    /// Depressing preset: spec/synapses.md §3 table with f = U, as the reference runs it.
    pub const DEPRESSING: StpParams = StpParams {
        u_base: 0.9,
        f: 0.9,
        tau_d: 0.02,
        tau_f: 1.0,
        u_init: 0.01,
    };
}

/// STP state of one presynaptic population, advanced lazily at its spikes.
#[derive(Clone, Debug)]
pub struct StpState {
    params: StpParams,
    /// Powers of 1 − dt/τ_D and 1 − dt/τ_F, the per-step Euler recovery factors.
    keep_x: Powers,
    keep_u: Powers,
    /// Resources and utilisation after the last jump, before that step's recovery.
    x: Vec<f64>,
    u: Vec<f64>,
    /// Step whose recovery is the first not yet applied to (x, u).
    since: Vec<u64>,
}

impl StpState {
    /// State for `n` presynaptic neurons at rest: x = 1, u = u_init.
    pub fn new(params: StpParams, n: usize, dt: f64) -> Self {
        StpState {
            params,
            keep_x: Powers::new(1.0 - dt / params.tau_d),
            keep_u: Powers::new(1.0 - dt / params.tau_f),
            x: vec![1.0; n],
            u: vec![params.u_init; n],
            since: vec![0; n],
        }
    }

    /// The parameters.
    pub fn params(&self) -> &StpParams {
        &self.params
    }

    /// (x, u) of neuron `i` at the start of the connection phase of `step`.
    pub fn at(&self, i: usize, step: u64) -> (f64, f64) {
        let k = step.saturating_sub(self.since[i]);
        let x = 1.0 - (1.0 - self.x[i]) * self.keep_x.pow(k);
        let u = self.params.u_base - (self.params.u_base - self.u[i]) * self.keep_u.pow(k);
        (x, u)
    }

    /// Releases at the spikes `spikes` of `step` (ascending neuron ids): writes each spike's
    /// efficacy u·x into `efficacies` (same order) and applies the jumps.
    pub fn release(&mut self, spikes: &[u32], step: u64, efficacies: &mut Vec<Real>) {
        efficacies.clear();
        for &s in spikes {
            let i = s as usize;
            let (x, u) = self.at(i, step);
            efficacies.push((u * x) as Real);
            self.x[i] = x - u * x;
            self.u[i] = u + self.params.f * (1.0 - u);
            // The recovery of the spike step itself is still to come (trace phase).
            self.since[i] = step;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DT: f64 = 1e-4;

    /// Efficacies of a train of spikes at the given steps, starting from (x, u) = (1, u0).
    fn train(mut p: StpParams, u0: f64, steps: &[u64]) -> Vec<f64> {
        p.u_init = u0;
        let mut s = StpState::new(p, 1, DT);
        let mut eff = Vec::new();
        steps
            .iter()
            .map(|&n| {
                s.release(&[0], n, &mut eff);
                eff[0] as f64
            })
            .collect()
    }

    /// The eTM of spec/synapses.md §3 as written (f = 0.1), whose reference tables the
    /// scheme must reproduce.
    fn spec_etm() -> (StpParams, StpParams) {
        let etm = |p: StpParams| StpParams { f: 0.1, ..p };
        (etm(StpParams::FACILITATING), etm(StpParams::DEPRESSING))
    }

    fn assert_close(got: &[f64], want: &[f64]) {
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-3, "got {got:?}, want {want:?}");
        }
    }

    #[test]
    fn triplets_from_baseline_match_spec() {
        let (stf, std) = spec_etm();
        for (isi, want_f, want_d) in [
            (50, [0.0200, 0.1111, 0.1691], [0.9000, 0.2725, 0.2230]),
            (100, [0.0200, 0.1067, 0.1605], [0.9000, 0.4138, 0.3850]),
            (150, [0.0200, 0.1025, 0.1522], [0.9000, 0.5238, 0.5080]),
        ] {
            let steps = [100, 100 + isi, 100 + 2 * isi];
            assert_close(&train(stf, stf.u_base, &steps), &want_f);
            assert_close(&train(std, std.u_base, &steps), &want_d);
        }
    }

    #[test]
    fn five_hz_trains_match_spec() {
        let steps: Vec<u64> = (0..8).map(|k| 10 + 2000 * k).collect();
        let (stf, std) = spec_etm();
        assert_close(
            &train(stf, stf.u_base, &steps[..5]),
            &[0.0200, 0.0332, 0.0347, 0.0349, 0.0349],
        );
        assert_close(
            &train(std, std.u_base, &steps[..5]),
            &[0.9000, 0.9082, 0.9142, 0.9186, 0.9219],
        );
        assert_close(
            &train(stf, 0.01, &steps[..4]),
            &[0.0100, 0.0320, 0.0346, 0.0349],
        );
        assert_close(
            &train(std, 0.01, &steps),
            &[
                0.0100, 0.2524, 0.4310, 0.5626, 0.6596, 0.7310, 0.7837, 0.8224,
            ],
        );
    }

    #[test]
    fn triplets_from_published_initial_state_match_spec() {
        let (stf, std) = spec_etm();
        for (isi, want_f, want_d) in [
            (50, [0.0100, 0.1037, 0.1657], [0.0100, 0.1121, 0.1860]),
            (100, [0.0100, 0.0996, 0.1571], [0.0100, 0.1162, 0.1964]),
            (150, [0.0100, 0.0958, 0.1490], [0.0100, 0.1202, 0.2061]),
        ] {
            let steps = [0, isi, 2 * isi];
            assert_close(&train(stf, 0.01, &steps), &want_f);
            assert_close(&train(std, 0.01, &steps), &want_d);
        }
    }

    #[test]
    fn presets_deliver_what_the_reference_delivers() {
        // Measured on the built reference: one STPeTMConnection with the sim_propagation
        // setters (set_f(0.1) included) from its initial state, spikes at 10, 15, 20, 210,
        // 220 and 230 ms, jumps of a non-decaying g_ampa.
        let steps = [100, 150, 200, 2100, 2200, 2300];
        let (stf, std) = (StpParams::FACILITATING, StpParams::DEPRESSING);
        assert_close(
            &train(stf, 0.01, &steps),
            &[0.01095, 0.02990, 0.04631, 0.02671, 0.04242, 0.05484],
        );
        assert_close(
            &train(std, 0.01, &steps),
            &[0.01886, 0.88864, 0.29389, 0.98177, 0.40409, 0.39441],
        );
        // From (1, U), a triplet at ISI 5 ms: facilitation is about twofold, not fivefold.
        let steps = [100, 150, 200];
        assert_close(&train(stf, stf.u_base, &steps), &[0.0200, 0.0379, 0.0530]);
        assert_close(&train(std, std.u_base, &steps), &[0.9000, 0.2964, 0.2238]);
    }

    #[test]
    fn lazy_recovery_equals_per_step_euler() {
        let p = StpParams::DEPRESSING;
        let mut s = StpState::new(p, 1, DT);
        let mut eff = Vec::new();
        s.release(&[0], 0, &mut eff);
        // Per-step Euler from the post-jump state, applied 137 times.
        let (mut x, mut u) = (1.0 - 0.01, 0.01 + p.f * 0.99);
        for _ in 0..137 {
            x += DT / p.tau_d * (1.0 - x);
            u += DT / p.tau_f * (p.u_base - u);
        }
        let (lx, lu) = s.at(0, 137);
        assert!((lx - x).abs() < 1e-12 && (lu - u).abs() < 1e-12);
    }
}
