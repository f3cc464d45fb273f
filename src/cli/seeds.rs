//! `--seeds`: several seeds in one command, with statistics across them.

/// Parses `--seeds`: "3", "1..5" (inclusive) or "1,4,7".
pub fn parse_seeds(text: &str) -> burstccn::Result<Vec<u64>> {
    let bad = || {
        burstccn::Error::config(
            "--seeds",
            format!("--seeds {text}"),
            "expected a seed (3), an increasing inclusive range (1..5) or a list (1,4,7)",
        )
    };
    let number = |s: &str| s.trim().parse::<u64>().map_err(|_| bad());
    let seeds: Vec<u64> = match text.split_once("..") {
        Some((a, b)) => {
            let (a, b) = (number(a)?, number(b)?);
            if b < a {
                return Err(bad());
            }
            (a..=b).collect()
        }
        None => text
            .split(',')
            .map(number)
            .collect::<burstccn::Result<_>>()?,
    };
    Ok(seeds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_lists() {
        assert_eq!(parse_seeds("3").unwrap(), vec![3]);
        assert_eq!(parse_seeds("1..4").unwrap(), vec![1, 2, 3, 4]);
        assert_eq!(parse_seeds("1,4,7").unwrap(), vec![1, 4, 7]);
        assert!(parse_seeds("5..1").is_err() && parse_seeds("a").is_err());
    }
}
