//! Analysis of recorded activity: readouts computed at the end of a run, and figures.

pub mod figures;
pub mod readouts;
