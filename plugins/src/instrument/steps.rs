//! The steps of an instrument and the arithmetic of each, over whole columns.
//!
//! Outputs are referred to by their index in the instrument's output list, which
//! [`Instrument`](super::Instrument) checked when the step was added.

use crate::batch::BatchFunction;
use mixspec_engine::Factor;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregate {
    Sum,
    Mean,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompositeAggregate {
    Sum,
    Mean,
    /// The components' sums over their total number of items: an item mean on the items'
    /// own metric that keeps the components' missing rules (e.g. prorated subscales).
    ItemMean,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeanSd {
    pub mean: f64,
    pub sd: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Norms {
    /// One norm group for everyone.
    One(MeanSd),
    /// Norms per group; each row's group is read from a data column.
    ByGroup {
        column: String,
        groups: Vec<(String, MeanSd)>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    pub label: String,
    pub lower: Lower,
}

/// Where a band starts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Lower {
    /// The first band: everything below the next.
    None,
    /// Values ≥ the bound.
    AtLeast(f64),
    /// Values > the bound.
    Above(f64),
}

pub(super) enum Step {
    Scale(Scale),
    Composite(Composite),
    ValueSet(ValueSet),
    Computed(Computed),
    TScore(TScore),
    Bands(Bands),
}

pub(super) struct Scale {
    pub items: Vec<usize>,
    pub reverse: Vec<bool>,
    pub aggregate: Aggregate,
    pub min_valid: usize,
    pub prorate: bool,
}

pub(super) struct Composite {
    pub components: Vec<usize>,
    pub aggregate: CompositeAggregate,
    pub total_items: usize,
}

pub(super) struct ValueSet {
    pub start: f64,
    /// Per item: its index and its decrement at each level from the range's lowest.
    pub dimensions: Vec<(usize, Vec<f64>)>,
    pub if_any_at_least: Vec<(f64, f64)>,
}

pub(super) struct Computed {
    pub outputs: usize,
    pub function: Box<dyn BatchFunction>,
}

pub(super) struct TScore {
    pub scale: usize,
    pub norms: Norms,
}

pub(super) struct Bands {
    pub scale: usize,
    pub bands: Vec<Band>,
}

impl Scale {
    /// Reverse-keyed items count as `min + max − x`, from the theoretical range.
    pub fn score(&self, items: &[Vec<f64>], (lo, hi): (f64, f64), rows: usize) -> Vec<f64> {
        let n = self.items.len() as f64;
        (0..rows)
            .map(|row| {
                let (mut sum, mut present) = (0.0, 0);
                for (&item, &reverse) in self.items.iter().zip(&self.reverse) {
                    let x = items[item][row];
                    if !x.is_nan() {
                        sum += if reverse { lo + hi - x } else { x };
                        present += 1;
                    }
                }
                if present < self.min_valid {
                    return f64::NAN;
                }
                match self.aggregate {
                    Aggregate::Sum if self.prorate => sum * n / present as f64,
                    Aggregate::Sum => sum,
                    Aggregate::Mean => sum / present as f64,
                }
            })
            .collect()
    }
}

impl Composite {
    /// `components` are the values of `self.components`, in order.
    pub fn score(&self, components: &[&[f64]], rows: usize) -> Vec<f64> {
        let k = components.len() as f64;
        (0..rows)
            .map(|row| {
                let sum: f64 = components.iter().map(|c| c[row]).sum();
                match self.aggregate {
                    CompositeAggregate::Sum => sum,
                    CompositeAggregate::Mean => sum / k,
                    CompositeAggregate::ItemMean => sum / self.total_items as f64,
                }
            })
            .collect()
    }
}

impl ValueSet {
    /// `Err((item, row))` for a value that is not a whole level.
    pub fn score(
        &self,
        items: &[Vec<f64>],
        lowest: f64,
        rows: usize,
    ) -> Result<Vec<f64>, (usize, usize)> {
        (0..rows)
            .map(|row| {
                let mut value = self.start;
                let mut highest = f64::NEG_INFINITY;
                for (item, decrements) in &self.dimensions {
                    let x = items[*item][row];
                    if x.is_nan() {
                        return Ok(f64::NAN);
                    }
                    if x.fract() != 0.0 {
                        return Err((*item, row));
                    }
                    value -= decrements[(x - lowest) as usize];
                    highest = highest.max(x);
                }
                for (level, decrement) in &self.if_any_at_least {
                    if highest >= *level {
                        value -= decrement;
                    }
                }
                Ok(value)
            })
            .collect()
    }
}

impl TScore {
    /// `group_of(row)` gives the row's norms, `None` when its group is missing.
    pub fn score(&self, raw: &[f64], group_of: impl Fn(usize) -> Option<MeanSd>) -> Vec<f64> {
        raw.iter()
            .enumerate()
            .map(|(row, x)| group_of(row).map_or(f64::NAN, |m| 50.0 + 10.0 * (x - m.mean) / m.sd))
            .collect()
    }
}

impl Bands {
    /// Levels in band order, as R's `cut()` orders them.
    pub fn score(&self, x: &[f64]) -> Factor {
        let codes = x
            .iter()
            .map(|&v| {
                if v.is_nan() {
                    return mixspec_engine::data::NA_CODE;
                }
                let band = self.bands.iter().rposition(|b| match b.lower {
                    Lower::None => true,
                    Lower::AtLeast(bound) => v >= bound,
                    Lower::Above(bound) => v > bound,
                });
                band.unwrap_or(0) as u32
            })
            .collect();
        Factor {
            codes,
            levels: self.bands.iter().map(|b| b.label.clone()).collect(),
        }
    }
}
