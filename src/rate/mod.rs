//! The discrete-time rate BurstCCN of Greedy et al. 2022 and its baselines (backprop, feedback
//! alignment, Burstprop), trained on MNIST [G22 §2.2, §3.3–3.4; spec/rate_model.md].
//!
//! # Sign convention
//!
//! This module uses the **reference-code convention** [BCN `modules/layers_burstccn.py`]:
//! batches are row vectors, `W_l` is `n_l × n_(l−1)`, and the feedback matrices `Y_l`, `Q_l` of
//! hidden layer l have the shape of `W_(l+1)`. The apical potential is
//! `a_l = b_t,(l+1)·Y_l − e_(l+1)·Q_l` and Q learns `Q ← Q + η_Q·e_(l+1)ᵀ a_l / B`.
//!
//! Mapping to the paper [G22 Eqs 1–2] (rate_model.md §2): `Y_paper = −Y_codeᵀ`,
//! `Q_paper = −Q_codeᵀ`, so `u_l = Q_paper e_(l+1) − Y_paper b_(l+1)` equals our `a_l` and the
//! code's Q rule is Eq. 2. Hence:
//! - W–Y symmetry (paper `Y_l = −W_(l+1)ᵀ`) is our `Y_l = W_(l+1)` (`y_mode = "symmetric"`/`"tied"`);
//! - Q–Y symmetry (paper `Q_l = p_b·Y_l`) is our `Q_l = p_b·Y_l` (`q_mode = "symmetric"`);
//! - the repository notebook's "Q = −p_baseline·Y" is the same state in a third convention.
//!
//! Updates are `W ← W − lr·G_W − wd·W` with `G_W = δᵀ e_(l−1) / B` and `δ_l = −(b_t − b)`; in
//! the W–Y symmetric state with small errors the BurstCCN update is ≈ p_b × the backprop
//! update of ½‖e_L − t‖² (batch mean), so BurstCCN's lr 0.3 acts like backprop's 0.15.

pub mod cli;
pub mod config;
pub mod linalg;
pub mod mnist;
pub mod network;
pub mod train;

pub use config::Experiment;
pub use network::{Algorithm, Angles, ModelSpec, Network, QMode, YMode};
