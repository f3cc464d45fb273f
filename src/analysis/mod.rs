//! Analysis of recorded activity: readouts computed at the end of a run.

pub mod bursts;
pub mod offline;
pub mod readouts;
