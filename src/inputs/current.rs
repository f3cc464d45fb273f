//! Current injection into a compartment (spec/neurons.md §6; [AUR CurrentInjector.cpp],
//! [SBP src/SineCurrentInjector.cpp]).
//!
//! In the device phase an injector adds dt·I(t)/C to the membrane potential of its compartment,
//! after the threshold check, so its effect on spiking shows at the next step. Several injectors
//! on the same compartment add up.

use crate::neurons::Compartment;
use std::f64::consts::PI;

/// Time course of an injected current, A.
#[derive(Clone, Debug, PartialEq)]
pub enum Waveform {
    /// I(t) = value.
    Constant(f64),
    /// I(t) = A·sin(2π f t) for start ≤ t < stop, else 0; the phase is referenced to t = 0.
    Sine {
        amplitude: f64,
        frequency: f64,
        start: f64,
        stop: f64,
    },
    /// Piecewise constant: `values[i]` from `times[i]` until the next time; 0 before the first.
    Schedule { times: Vec<f64>, values: Vec<f64> },
}

impl Waveform {
    /// The current at time `t` (s), A.
    pub fn at(&self, t: f64) -> f64 {
        match self {
            Waveform::Constant(v) => *v,
            Waveform::Sine {
                amplitude,
                frequency,
                start,
                stop,
            } => {
                if t >= *start && t < *stop {
                    amplitude * (2.0 * PI * frequency * t).sin()
                } else {
                    0.0
                }
            }
            Waveform::Schedule { times, values } => match times.partition_point(|&s| s <= t) {
                0 => 0.0,
                i => values[i - 1],
            },
        }
    }
}

/// A current injector bound to a population and compartment.
#[derive(Clone, Debug)]
pub struct Injector {
    pub population: usize,
    pub compartment: Compartment,
    pub waveform: Waveform,
    /// Neurons that receive the current (ascending), or `None` for the whole population.
    pub neurons: Option<Vec<u32>>,
    /// Per-neuron currents, A, one per neuron of the population, added on top of the waveform
    /// (the XOR teacher, spec/neurons.md §6: "currents can be set per neuron"). `None` costs
    /// nothing.
    pub per_neuron: Option<Vec<f64>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waveforms() {
        let s = Waveform::Sine {
            amplitude: 2.0,
            frequency: 2.0,
            start: 1.0,
            stop: f64::INFINITY,
        };
        assert_eq!(s.at(0.5), 0.0);
        assert!((s.at(1.125) - 2.0).abs() < 1e-12);
        let p = Waveform::Schedule {
            times: vec![0.0, 1.0],
            values: vec![-1.0, 3.0],
        };
        assert_eq!(p.at(-0.1), 0.0);
        assert_eq!(p.at(0.0), -1.0);
        assert_eq!(p.at(0.99), -1.0);
        assert_eq!(p.at(5.0), 3.0);
    }
}
