//! Physical quantities with units in configuration files ("100 ms", "-70 mV", "200 pA").
//!
//! Values are converted to SI once, at load, and checked for dimension, as Brian2 does.
//! [`ParamTable`] reads a TOML table key by key and rejects keys it was never asked for,
//! so a misspelt parameter is an error, not a silent default.

use crate::error::{Error, Result};
use std::cell::RefCell;
use std::collections::BTreeSet;

/// Physical dimension of a configuration value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dim {
    Time,
    Voltage,
    Current,
    Capacitance,
    Conductance,
    Frequency,
    /// A plain number (no unit allowed).
    Dimensionless,
}

impl Dim {
    /// Units accepted for this dimension with their factor to SI.
    fn units(self) -> &'static [(&'static str, f64)] {
        match self {
            Dim::Time => &[
                ("s", 1.0),
                ("ms", 1e-3),
                ("us", 1e-6),
                ("µs", 1e-6),
                ("min", 60.0),
            ],
            Dim::Voltage => &[("V", 1.0), ("mV", 1e-3), ("uV", 1e-6), ("µV", 1e-6)],
            Dim::Current => &[
                ("A", 1.0),
                ("mA", 1e-3),
                ("uA", 1e-6),
                ("nA", 1e-9),
                ("pA", 1e-12),
            ],
            Dim::Capacitance => &[("F", 1.0), ("uF", 1e-6), ("nF", 1e-9), ("pF", 1e-12)],
            Dim::Conductance => &[
                ("S", 1.0),
                ("mS", 1e-3),
                ("uS", 1e-6),
                ("nS", 1e-9),
                ("pS", 1e-12),
            ],
            Dim::Frequency => &[("Hz", 1.0), ("kHz", 1e3)],
            Dim::Dimensionless => &[],
        }
    }

    /// Human name with an example, for error messages.
    pub fn describe(self) -> &'static str {
        match self {
            Dim::Time => "a time such as \"10 ms\" or \"1 s\"",
            Dim::Voltage => "a voltage such as \"-70 mV\"",
            Dim::Current => "a current such as \"200 pA\" or \"1 nA\"",
            Dim::Capacitance => "a capacitance such as \"370 pF\"",
            Dim::Conductance => "a conductance such as \"10 nS\"",
            Dim::Frequency => "a rate such as \"5 Hz\"",
            Dim::Dimensionless => "a plain number",
        }
    }
}

/// Parses `text` ("−70 mV", "1e-3 s", "200pA") as a quantity of dimension `dim`, returning SI.
/// The error string says what was expected; callers add file and key.
///
/// ```
/// use burstccn::config::units::{parse_quantity, Dim};
/// assert_eq!(parse_quantity("0.8 ms", Dim::Time), Ok(0.8e-3));
/// assert!((parse_quantity("-70 mV", Dim::Voltage).unwrap() + 0.070).abs() < 1e-15);
/// assert!(parse_quantity("5 Hz", Dim::Time).unwrap_err().contains("expected a time"));
/// ```
pub fn parse_quantity(text: &str, dim: Dim) -> std::result::Result<f64, String> {
    let t = text.trim().replace('\u{2212}', "-");
    // The unit starts at the first letter that is not an exponent marker ("1e-3 s").
    let bytes = t.as_bytes();
    let split = t
        .char_indices()
        .find(|&(i, c)| {
            let exponent = matches!(c, 'e' | 'E')
                && i > 0
                && bytes[i - 1].is_ascii_digit()
                && matches!(bytes.get(i + 1), Some(b) if b.is_ascii_digit() || *b == b'-' || *b == b'+');
            (c.is_alphabetic() || c == 'µ') && !exponent
        })
        .map_or(t.len(), |(i, _)| i);
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("\"{text}\" is not {}", dim.describe()))?;
    let unit = unit.trim();
    if !value.is_finite() {
        return Err(format!("\"{text}\" is not a finite number"));
    }
    if unit.is_empty() {
        if dim == Dim::Dimensionless {
            return Ok(value);
        }
        return Err(format!(
            "\"{text}\" has no unit; expected {}",
            dim.describe()
        ));
    }
    for &(name, factor) in dim.units() {
        if unit == name {
            return Ok(value * factor);
        }
    }
    let known: Vec<&str> = dim.units().iter().map(|u| u.0).collect();
    if known.is_empty() {
        Err(format!(
            "\"{text}\" has a unit, but {} is expected",
            dim.describe()
        ))
    } else {
        Err(format!(
            "unit \"{unit}\" in \"{text}\" is wrong here; expected {} (units: {})",
            dim.describe(),
            known.join(", ")
        ))
    }
}

/// A TOML table read key by key with dimension checks; unknown keys are an error at [`ParamTable::finish`].
pub struct ParamTable<'a> {
    file: &'a str,
    prefix: String,
    table: &'a toml::Table,
    used: RefCell<BTreeSet<String>>,
}

impl<'a> ParamTable<'a> {
    /// Wraps `table`, found in `file` under the dotted key `prefix` (for messages).
    pub fn new(file: &'a str, prefix: impl Into<String>, table: &'a toml::Table) -> Self {
        ParamTable {
            file,
            prefix: prefix.into(),
            table,
            used: RefCell::new(BTreeSet::new()),
        }
    }

    /// The file name used in messages.
    pub fn file(&self) -> &str {
        self.file
    }

    /// The full dotted key of `key`, for messages.
    pub fn key(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.prefix)
        }
    }

    /// An error about `key` in this table.
    pub fn error(&self, key: &str, message: impl Into<String>) -> Error {
        Error::config(self.file, self.key(key), message)
    }

    /// The raw value of `key`, marking it as known.
    pub fn get(&self, key: &str) -> Option<&'a toml::Value> {
        self.used.borrow_mut().insert(key.to_string());
        self.table.get(key)
    }

    /// A quantity of dimension `dim` in SI; `default` (SI) when absent, an error when absent without default.
    pub fn quantity(&self, key: &str, dim: Dim, default: Option<f64>) -> Result<f64> {
        match self.get(key) {
            None => default
                .ok_or_else(|| self.error(key, format!("is missing; expected {}", dim.describe()))),
            Some(v) => self.value_quantity(key, v, dim),
        }
    }

    /// Converts a TOML value to a quantity of dimension `dim`: a string with a unit, or a bare
    /// number for dimensionless values. Zero is accepted without a unit.
    pub fn value_quantity(&self, key: &str, v: &toml::Value, dim: Dim) -> Result<f64> {
        let num = match v {
            toml::Value::Integer(i) => Some(*i as f64),
            toml::Value::Float(f) => Some(*f),
            _ => None,
        };
        match (v, num) {
            (_, Some(x)) if dim == Dim::Dimensionless || x == 0.0 => Ok(x),
            (_, Some(x)) => Err(self.error(
                key,
                format!(
                    "{x} has no unit; expected {} (write it as a string)",
                    dim.describe()
                ),
            )),
            (toml::Value::String(s), None) => {
                parse_quantity(s, dim).map_err(|m| self.error(key, m))
            }
            _ => Err(self.error(key, format!("expected {}", dim.describe()))),
        }
    }

    /// A plain number; `default` when absent.
    pub fn number(&self, key: &str, default: Option<f64>) -> Result<f64> {
        self.quantity(key, Dim::Dimensionless, default)
    }

    /// A number that must lie in [0, 1].
    pub fn probability(&self, key: &str, default: Option<f64>) -> Result<f64> {
        let p = self.number(key, default)?;
        if !(0.0..=1.0).contains(&p) {
            return Err(self.error(
                key,
                format!("{p} is outside [0, 1]; a probability is expected"),
            ));
        }
        Ok(p)
    }

    /// A string; `default` when absent.
    pub fn string(&self, key: &str, default: Option<&str>) -> Result<String> {
        match self.get(key) {
            None => default
                .map(str::to_string)
                .ok_or_else(|| self.error(key, "is missing; expected a string")),
            Some(toml::Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(self.error(key, format!("expected a string, found {other}"))),
        }
    }

    /// One of `choices`; `default` when absent.
    pub fn choice(&self, key: &str, choices: &[&str], default: Option<&str>) -> Result<String> {
        let s = self.string(key, default)?;
        if choices.contains(&s.as_str()) {
            Ok(s)
        } else {
            Err(self.error(
                key,
                format!("\"{s}\" is not one of: {}", choices.join(", ")),
            ))
        }
    }

    /// A boolean; `default` when absent.
    pub fn boolean(&self, key: &str, default: Option<bool>) -> Result<bool> {
        match self.get(key) {
            None => default.ok_or_else(|| self.error(key, "is missing; expected true or false")),
            Some(toml::Value::Boolean(b)) => Ok(*b),
            Some(other) => Err(self.error(key, format!("expected true or false, found {other}"))),
        }
    }

    /// A non-negative integer; `default` when absent.
    pub fn count(&self, key: &str, default: Option<u64>) -> Result<u64> {
        match self.get(key) {
            None => default.ok_or_else(|| self.error(key, "is missing; expected a whole number")),
            Some(toml::Value::Integer(i)) if *i >= 0 => Ok(*i as u64),
            Some(other) => {
                Err(self.error(key, format!("expected a whole number ≥ 0, found {other}")))
            }
        }
    }

    /// Checks that every key of the table was asked for; otherwise names the unknown key and the known ones.
    pub fn finish(self) -> Result<()> {
        self.finish_ref()
    }

    /// [`ParamTable::finish`] for a borrowed table.
    pub fn finish_ref(&self) -> Result<()> {
        let used = self.used.borrow();
        for key in self.table.keys() {
            if !used.contains(key) {
                let known: Vec<&str> = used.iter().map(String::as_str).collect();
                return Err(self.error(
                    key,
                    format!("unknown key; known keys here are: {}", known.join(", ")),
                ));
            }
        }
        Ok(())
    }
}

/// Checks that `value` (SI) is ≥ 0 (or > 0 if `strict`), naming the key otherwise.
pub fn require_non_negative(t: &ParamTable, key: &str, value: f64, strict: bool) -> Result<()> {
    if value < 0.0 || (strict && value == 0.0) {
        let what = if strict { "> 0" } else { "≥ 0" };
        return Err(t.error(key, format!("must be {what}, found {value} (SI units)")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_to_si() {
        assert_eq!(parse_quantity("100 ms", Dim::Time).unwrap(), 0.1);
        assert!((parse_quantity("-70 mV", Dim::Voltage).unwrap() + 0.07).abs() < 1e-15);
        assert!((parse_quantity("\u{2212}70mV", Dim::Voltage).unwrap() + 0.07).abs() < 1e-15);
        assert!((parse_quantity("200 pA", Dim::Current).unwrap() - 2e-10).abs() < 1e-22);
        assert_eq!(parse_quantity("1e-3 s", Dim::Time).unwrap(), 1e-3);
        assert_eq!(parse_quantity("5 Hz", Dim::Frequency).unwrap(), 5.0);
        assert_eq!(parse_quantity("0.5", Dim::Dimensionless).unwrap(), 0.5);
    }

    #[test]
    fn rejects_wrong_or_missing_units() {
        assert!(parse_quantity("100 mV", Dim::Time)
            .unwrap_err()
            .contains("expected a time"));
        assert!(parse_quantity("100", Dim::Time)
            .unwrap_err()
            .contains("no unit"));
        assert!(parse_quantity("fast", Dim::Time).is_err());
        assert!(parse_quantity("2 ms", Dim::Dimensionless).is_err());
    }

    #[test]
    fn unknown_keys_are_reported() {
        let table: toml::Table = toml::from_str("tau = \"5 ms\"\ntua = 3").unwrap();
        let t = ParamTable::new("f.toml", "populations.a", &table);
        assert_eq!(t.quantity("tau", Dim::Time, None).unwrap(), 5e-3);
        let err = t.finish().unwrap_err().to_string();
        assert!(
            err.contains("f.toml") && err.contains("populations.a.tua"),
            "{err}"
        );
    }
}
