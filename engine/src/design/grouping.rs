//! Grouping factors of random-effect terms, including interactions such as `cask:batch`.

use super::variables::Values;
use crate::data::{Factor, NA_CODE};

/// The interaction of grouping variables on the rows in use: levels are the combinations
/// that occur, ordered with the first variable slowest (as R's `a:b` on factors), labelled
/// `a:b`. A single variable is simply converted to a factor.
pub fn interaction(parts: &[&Values]) -> Factor {
    let factors: Vec<Factor> = parts
        .iter()
        .map(|v| match v {
            Values::Numeric(x) => Factor::from_numbers(x),
            Values::Factor(f) => f.clone(),
            Values::Matrix { .. } => unreachable!("grouping variables are data columns"),
        })
        .collect();
    if factors.len() == 1 {
        return factors.into_iter().next().expect("one factor");
    }
    let n = factors[0].codes.len();
    let keys: Vec<Vec<u32>> = (0..n)
        .map(|i| factors.iter().map(|f| f.codes[i]).collect())
        .collect();
    let mut distinct: Vec<&Vec<u32>> = keys.iter().filter(|k| !k.contains(&NA_CODE)).collect();
    distinct.sort();
    distinct.dedup();
    let levels = distinct
        .iter()
        .map(|k| {
            k.iter()
                .zip(&factors)
                .map(|(&c, f)| f.levels[c as usize].as_str())
                .collect::<Vec<_>>()
                .join(":")
        })
        .collect();
    let codes = keys
        .iter()
        .map(|k| distinct.binary_search(&k).map_or(NA_CODE, |i| i as u32))
        .collect();
    Factor { codes, levels }
}
