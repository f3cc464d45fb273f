//! Current and stimulus inputs.
