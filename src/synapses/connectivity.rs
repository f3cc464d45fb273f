//! Connectivity rules (spec/synapses.md §5; [AUR SparseConnection.cpp, IdentityConnection.cpp]).
//!
//! Patterns are drawn per target chunk, each chunk from its own random stream derived from the
//! seed, the projection's name and the chunk index, so a pattern never depends on the thread
//! count and chunks can be drawn in parallel. The result is one CSR table per target chunk:
//! rows are presynaptic neurons, columns chunk-local target indices.

use crate::engine::rng::Rng;
use crate::neurons::CHUNK;
use rand::Rng as _;

/// How pairs are connected.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rule {
    /// Each ordered pair independently with probability p (in-degrees Binomial(N_pre, p)).
    Pairwise { p: f64 },
    /// Every target draws exactly k distinct sources.
    FixedIndegree { k: usize },
    /// Neuron i → neuron i (pre and post of equal size).
    OneToOne,
    /// Every pair.
    AllToAll,
}

/// The synapses of one projection onto one target chunk, in CSR form.
///
/// Invariant, established by [`draw_chunk`] and relied on by delivery: every column is below
/// `targets`, the number of neurons in the chunk.
#[derive(Clone, Debug, Default)]
pub struct ChunkCsr {
    /// `row_ptr[i]..row_ptr[i + 1]` are the synapses of presynaptic neuron i.
    row_ptr: Vec<u32>,
    /// Chunk-local target index of each synapse (< [`CHUNK`], so 16 bits suffice).
    cols: Vec<u16>,
    /// Neurons in the target chunk.
    targets: usize,
}

impl ChunkCsr {
    /// Number of neurons in the target chunk; every column is below it.
    pub fn targets(&self) -> usize {
        self.targets
    }

    /// Target columns of presynaptic neuron `pre`.
    #[inline]
    pub fn targets_of(&self, pre: usize) -> &[u16] {
        &self.cols[self.row(pre)]
    }

    /// Bytes of the table.
    pub fn bytes(&self) -> usize {
        self.cols.len() * 2 + self.row_ptr.len() * 4
    }

    /// Number of synapses.
    pub fn len(&self) -> usize {
        self.cols.len()
    }

    /// Whether the table has no synapse.
    pub fn is_empty(&self) -> bool {
        self.cols.is_empty()
    }

    /// Synapse index range of presynaptic neuron `pre`.
    #[inline]
    pub fn row(&self, pre: usize) -> std::ops::Range<usize> {
        self.row_ptr[pre] as usize..self.row_ptr[pre + 1] as usize
    }

    fn from_pairs(n_pre: usize, targets: usize, mut pairs: Vec<(u32, u16)>) -> Self {
        pairs.sort_unstable();
        let mut row_ptr = vec![0u32; n_pre + 1];
        for &(pre, _) in &pairs {
            row_ptr[pre as usize + 1] += 1;
        }
        for i in 0..n_pre {
            row_ptr[i + 1] += row_ptr[i];
        }
        ChunkCsr {
            row_ptr,
            cols: pairs.into_iter().map(|p| p.1).collect(),
            targets,
        }
    }
}

/// Draws the table of target chunk `chunk` (targets `chunk·CHUNK ..`, `len` of them) for
/// `n_pre` sources. `same_population` excludes self-connections.
pub fn draw_chunk(
    rule: Rule,
    n_pre: usize,
    chunk: usize,
    len: usize,
    same_population: bool,
    rng: &mut Rng,
) -> ChunkCsr {
    let first = chunk * CHUNK;
    let is_self = |pre: usize, local: usize| same_population && pre == first + local;
    match rule {
        Rule::Pairwise { p } => {
            let mut row_ptr = Vec::with_capacity(n_pre + 1);
            let mut cols = Vec::with_capacity((n_pre as f64 * len as f64 * p * 1.05) as usize + 16);
            row_ptr.push(0u32);
            if p >= 1.0 {
                for pre in 0..n_pre {
                    cols.extend((0..len).filter(|&j| !is_self(pre, j)).map(|j| j as u16));
                    row_ptr.push(cols.len() as u32);
                }
            } else if p > 0.0 {
                // Geometric gaps between successes over the row-major sequence of pairs.
                let ln_q = (1.0 - p).ln();
                let gap = |rng: &mut Rng| ((1.0 - rng.random::<f64>()).ln() / ln_q).floor();
                let total = (n_pre * len) as f64;
                let mut pos = gap(rng);
                let mut pre = 0usize;
                while pos < total {
                    let k = pos as usize;
                    let (i, j) = (k / len, k % len);
                    while pre < i {
                        row_ptr.push(cols.len() as u32);
                        pre += 1;
                    }
                    if !is_self(i, j) {
                        cols.push(j as u16);
                    }
                    pos += 1.0 + gap(rng);
                }
                while pre < n_pre {
                    row_ptr.push(cols.len() as u32);
                    pre += 1;
                }
            } else {
                row_ptr.resize(n_pre + 1, 0);
            }
            ChunkCsr {
                row_ptr,
                cols,
                targets: len,
            }
        }
        Rule::FixedIndegree { k } => {
            let mut pairs = Vec::with_capacity(len * k);
            let pool = if same_population { n_pre - 1 } else { n_pre };
            let mut chosen = std::collections::HashSet::with_capacity(k * 2);
            for j in 0..len {
                // Floyd's algorithm: k distinct values from 0..pool.
                chosen.clear();
                for t in pool - k..pool {
                    let r = rng.random_range(0..=t);
                    if !chosen.insert(r) {
                        chosen.insert(t);
                    }
                }
                let mut sources: Vec<usize> = chosen.iter().copied().collect();
                sources.sort_unstable();
                for s in sources {
                    // Skip the target itself by shifting sources at or above it.
                    let pre = if same_population && s >= first + j {
                        s + 1
                    } else {
                        s
                    };
                    pairs.push((pre as u32, j as u16));
                }
            }
            ChunkCsr::from_pairs(n_pre, len, pairs)
        }
        Rule::AllToAll => draw_chunk(
            Rule::Pairwise { p: 1.0 },
            n_pre,
            chunk,
            len,
            same_population,
            rng,
        ),
        Rule::OneToOne => {
            let pairs = (0..len).map(|j| ((first + j) as u32, j as u16)).collect();
            ChunkCsr::from_pairs(n_pre, len, pairs)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::{stream, Purpose};

    #[test]
    fn pairwise_density_and_no_self() {
        let mut rng = stream(3, Purpose::Connectivity, &[1]);
        let csr = draw_chunk(Rule::Pairwise { p: 0.05 }, 2000, 1, CHUNK, true, &mut rng);
        let expected = 2000.0 * CHUNK as f64 * 0.05;
        assert!((csr.len() as f64 - expected).abs() < 5.0 * expected.sqrt());
        for pre in 0..2000 {
            let row = csr.targets_of(pre);
            assert!(row.windows(2).all(|w| w[0] < w[1]));
            assert!(row.iter().all(|&j| CHUNK + j as usize != pre));
        }
    }

    #[test]
    fn fixed_indegree_is_exact_and_distinct() {
        let mut rng = stream(3, Purpose::Connectivity, &[2]);
        let csr = draw_chunk(Rule::FixedIndegree { k: 30 }, 100, 0, 100, true, &mut rng);
        let mut indeg = vec![0; 100];
        for pre in 0..100 {
            for &j in csr.targets_of(pre) {
                assert_ne!(pre, j as usize);
                indeg[j as usize] += 1;
            }
        }
        assert!(indeg.iter().all(|&d| d == 30));
    }

    #[test]
    fn all_to_all_and_one_to_one() {
        let mut rng = stream(3, Purpose::Connectivity, &[3]);
        assert_eq!(
            draw_chunk(Rule::AllToAll, 10, 0, 10, true, &mut rng).len(),
            90
        );
        assert_eq!(
            draw_chunk(Rule::AllToAll, 10, 0, 7, false, &mut rng).len(),
            70
        );
        let one = draw_chunk(Rule::OneToOne, 2 * CHUNK, 1, CHUNK, false, &mut rng);
        assert_eq!(one.targets_of(CHUNK + 5), &[5]);
        assert_eq!(one.row(3).len(), 0);
    }
}
