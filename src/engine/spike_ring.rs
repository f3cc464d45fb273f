//! A ring of the spike lists of the last few steps, for axonal delays
//! ([AUR SpikeDelay.cpp]; STYLE.md §4). Slots are cleared and reused, never dropped.

/// Spike ids (population-local, ascending) of the last `len` steps.
#[derive(Clone, Debug)]
pub struct SpikeRing {
    slots: Vec<Vec<u32>>,
}

impl SpikeRing {
    /// A ring that keeps `max_delay + 1` steps.
    pub fn new(max_delay: usize) -> Self {
        SpikeRing {
            slots: vec![Vec::new(); max_delay + 1],
        }
    }

    /// Number of steps kept.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether the ring keeps no step (never true: at least the current one).
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The spikes emitted at `step` (empty before the simulation reached it).
    #[inline]
    pub fn slot(&self, step: u64) -> &[u32] {
        &self.slots[(step % self.slots.len() as u64) as usize]
    }

    /// Clears and returns the slot of `step` for writing.
    #[inline]
    pub fn slot_mut(&mut self, step: u64) -> &mut Vec<u32> {
        let n = self.slots.len() as u64;
        let slot = &mut self.slots[(step % n) as usize];
        slot.clear();
        slot
    }

    /// The spikes emitted `delay` steps before `step`, or nothing if that is before step 0.
    #[inline]
    pub fn delayed(&self, step: u64, delay: usize) -> &[u32] {
        match step.checked_sub(delay as u64) {
            Some(s) => self.slot(s),
            None => &[],
        }
    }
}
