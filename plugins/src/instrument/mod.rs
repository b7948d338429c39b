//! Instruments: a questionnaire's items and theoretical range, and the ordered steps that
//! derive its outputs (scales, composites, value sets, computed columns, T-scores, bands).
//!
//! An instrument is built step by step; each step may refer only to items and to outputs of
//! earlier steps, and is checked as it is added, so a built instrument cannot fail for
//! reasons of its own at scoring time, only for bad data.

mod score;
mod steps;

use crate::batch::BatchFunction;
use crate::testing::{self, Expected, TestVector};
use crate::About;
pub use steps::{Aggregate, Band, CompositeAggregate, Lower, MeanSd, Norms};
use steps::{Bands, Composite, Computed, Scale, Step, TScore, ValueSet};

pub struct Instrument {
    about: About,
    items: Vec<String>,
    range: (f64, f64),
    missing_codes: Vec<f64>,
    steps: Vec<Step>,
    /// Every output in order, with what later steps need to know about it.
    outputs: Vec<(String, Shape)>,
    tests: Vec<TestVector>,
}

/// What an output is, for the checks of the steps that use it.
#[derive(Clone, Copy, PartialEq)]
enum Shape {
    /// An aggregate of this many items: a sum (possibly prorated) or a mean.
    Scale {
        items: usize,
        sum: bool,
    },
    Number,
    Bands,
}

impl Instrument {
    pub fn new(
        about: About,
        items: Vec<String>,
        range: (f64, f64),
        missing_codes: Vec<f64>,
    ) -> Result<Instrument, String> {
        if items.is_empty() {
            return Err("an instrument needs at least one item".into());
        }
        if let Some(dup) = items
            .iter()
            .enumerate()
            .find(|(i, x)| items[..*i].contains(x))
        {
            return Err(format!("item `{}` is listed twice", dup.1));
        }
        if !(range.0.is_finite() && range.1.is_finite() && range.0 < range.1) {
            return Err(format!(
                "the range must be two finite numbers, lowest first; got {}–{}",
                range.0, range.1
            ));
        }
        if missing_codes.iter().any(|c| c.is_nan()) {
            return Err("missing codes must be numbers".into());
        }
        Ok(Instrument {
            about,
            items,
            range,
            missing_codes,
            steps: Vec::new(),
            outputs: Vec::new(),
            tests: Vec::new(),
        })
    }

    pub fn about(&self) -> &About {
        &self.about
    }

    /// Item column names, in declared order.
    pub fn items(&self) -> &[String] {
        &self.items
    }

    pub fn range(&self) -> (f64, f64) {
        self.range
    }

    /// Output column names, in the order `score` returns them.
    pub fn outputs(&self) -> impl Iterator<Item = &str> {
        self.outputs.iter().map(|(n, _)| n.as_str())
    }

    /// A scale over some items; `min_valid` defaults to all of them.
    pub fn add_scale(
        &mut self,
        name: &str,
        items: &[String],
        reverse: &[String],
        aggregate: Aggregate,
        min_valid: Option<usize>,
        prorate: bool,
    ) -> Result<(), String> {
        if items.is_empty() {
            return Err("a scale needs at least one item".into());
        }
        let indices = items
            .iter()
            .map(|i| self.item_index(i))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(r) = reverse.iter().find(|r| !items.contains(r)) {
            return Err(format!(
                "reverse-keyed item `{r}` is not an item of this scale"
            ));
        }
        let min_valid = min_valid.unwrap_or(items.len());
        if min_valid == 0 || min_valid > items.len() {
            return Err(format!(
                "min_valid must be between 1 and the {} items of the scale",
                items.len()
            ));
        }
        if prorate && aggregate != Aggregate::Sum {
            return Err("only a sum can be prorated; a mean already uses the items present".into());
        }
        let shape = Shape::Scale {
            items: items.len(),
            sum: aggregate == Aggregate::Sum,
        };
        self.add_output(name, shape)?;
        self.steps.push(Step::Scale(Scale {
            items: indices,
            reverse: items.iter().map(|i| reverse.contains(i)).collect(),
            aggregate,
            min_valid,
            prorate,
        }));
        Ok(())
    }

    /// A scale of scales; missing when any component is.
    pub fn add_composite(
        &mut self,
        name: &str,
        of: &[String],
        aggregate: CompositeAggregate,
    ) -> Result<(), String> {
        if of.is_empty() {
            return Err("a composite needs at least one component".into());
        }
        let mut components = Vec::new();
        let mut total_items = 0;
        for c in of {
            let (index, shape) = self.output(c)?;
            let Shape::Scale { items, sum } = shape else {
                return Err(format!("component `{c}` is not a scale or composite"));
            };
            if aggregate == CompositeAggregate::ItemMean && !sum {
                return Err(format!(
                    "an item mean needs components that are sums, but `{c}` is a mean"
                ));
            }
            components.push(index);
            total_items += items;
        }
        let sum = aggregate == CompositeAggregate::Sum;
        self.add_output(
            name,
            Shape::Scale {
                items: total_items,
                sum,
            },
        )?;
        self.steps.push(Step::Composite(Composite {
            components,
            aggregate,
            total_items,
        }));
        Ok(())
    }

    /// A value-set lookup: `start` minus each item's decrement for its level (listed from the
    /// lowest level of the range), minus each `(level, decrement)` in `if_any_at_least` when
    /// any item reaches that level. Missing when any item is.
    pub fn add_value_set(
        &mut self,
        name: &str,
        start: f64,
        decrements: &[(String, Vec<f64>)],
        if_any_at_least: Vec<(f64, f64)>,
    ) -> Result<(), String> {
        let (lo, hi) = self.range;
        if lo.fract() != 0.0 || hi.fract() != 0.0 {
            return Err("a value set needs a range of whole levels".into());
        }
        // Counted in floating point: a range can span more levels than `usize` holds, and
        // then no item lists enough decrements.
        let levels = hi - lo + 1.0;
        if decrements.is_empty() {
            return Err("a value set needs decrements for at least one item".into());
        }
        let mut dimensions = Vec::new();
        for (item, d) in decrements {
            if d.len() as f64 != levels {
                return Err(format!(
                    "item `{item}` has {} decrements, one per level {lo}–{hi} makes {levels}",
                    d.len()
                ));
            }
            dimensions.push((self.item_index(item)?, d.clone()));
        }
        if let Some((level, _)) = if_any_at_least.iter().find(|(l, _)| *l < lo || *l > hi) {
            return Err(format!("level {level} is outside the range {lo}–{hi}"));
        }
        self.add_output(name, Shape::Number)?;
        self.steps.push(Step::ValueSet(ValueSet {
            start,
            dimensions,
            if_any_at_least,
        }));
        Ok(())
    }

    /// Columns computed by a function of the (checked) item columns.
    pub(crate) fn add_computed(
        &mut self,
        outputs: &[String],
        function: Box<dyn BatchFunction>,
    ) -> Result<(), String> {
        for o in outputs {
            self.add_output(o, Shape::Number)?;
        }
        self.steps.push(Step::Computed(Computed {
            outputs: outputs.len(),
            function,
        }));
        Ok(())
    }

    /// A T-score of an earlier output: `50 + 10 (raw − mean) / sd`.
    pub fn add_t_score(&mut self, name: &str, of: &str, norms: Norms) -> Result<(), String> {
        let scale = self.numeric_output(of)?;
        let stats: Vec<&MeanSd> = match &norms {
            Norms::One(m) => vec![m],
            Norms::ByGroup { groups, .. } if groups.is_empty() => {
                return Err("norms by group need at least one group".into())
            }
            Norms::ByGroup { groups, .. } => groups.iter().map(|(_, m)| m).collect(),
        };
        if stats
            .iter()
            .any(|m| !(m.mean.is_finite() && m.sd.is_finite() && m.sd > 0.0))
        {
            return Err("norms need a finite mean and a positive sd".into());
        }
        self.add_output(name, Shape::Number)?;
        self.steps.push(Step::TScore(TScore { scale, norms }));
        Ok(())
    }

    /// Labelled bands of an earlier output. The first band has no lower bound; each later
    /// one starts above the previous.
    pub fn add_bands(&mut self, name: &str, of: &str, bands: Vec<Band>) -> Result<(), String> {
        let scale = self.numeric_output(of)?;
        let Some((first, rest)) = bands.split_first() else {
            return Err("bands need at least one band".into());
        };
        if first.lower != Lower::None {
            return Err(format!(
                "the first band (`{}`) takes everything below the next, so it has no lower bound",
                first.label
            ));
        }
        let mut previous = f64::NEG_INFINITY;
        for b in rest {
            let bound = match b.lower {
                Lower::None => {
                    return Err(format!("band `{}` needs a lower bound", b.label));
                }
                Lower::AtLeast(x) | Lower::Above(x) => x,
            };
            if bound.is_nan() || bound <= previous {
                return Err(format!(
                    "band `{}` must start above the band before it",
                    b.label
                ));
            }
            previous = bound;
        }
        self.add_output(name, Shape::Bands)?;
        self.steps.push(Step::Bands(Bands { scale, bands }));
        Ok(())
    }

    /// A test vector: one column per item (NaN = missing) and the expected outputs.
    pub(crate) fn add_test(
        &mut self,
        items: Vec<Vec<f64>>,
        expected: Vec<(String, Vec<Expected>)>,
        tolerance: f64,
    ) -> Result<(), String> {
        let test = TestVector::new(&self.items, items, expected, tolerance)?;
        for (name, values) in &test.expected {
            let (_, shape) = self.output(name)?;
            let labels = values.iter().any(|v| matches!(v, Expected::Label(_)));
            let numbers = values.iter().any(|v| matches!(v, Expected::Number(_)));
            if (shape == Shape::Bands && numbers) || (shape != Shape::Bands && labels) {
                return Err(format!("`{name}` expects the wrong kind of value"));
            }
        }
        self.tests.push(test);
        Ok(())
    }

    pub(crate) fn run_tests(&self) -> Vec<Result<(), String>> {
        testing::run_each(&self.tests, |t| {
            let outputs = self
                .score(&t.data(&self.items))
                .map_err(|e| e.to_string())?;
            t.check(&outputs)
        })
    }

    fn item_index(&self, name: &str) -> Result<usize, String> {
        self.items
            .iter()
            .position(|i| i == name)
            .ok_or_else(|| format!("`{name}` is not an item of this instrument"))
    }

    fn output(&self, name: &str) -> Result<(usize, Shape), String> {
        self.outputs
            .iter()
            .position(|(n, _)| n == name)
            .map(|i| (i, self.outputs[i].1))
            .ok_or_else(|| format!("`{name}` is not an output declared before this one"))
    }

    fn numeric_output(&self, name: &str) -> Result<usize, String> {
        match self.output(name)? {
            (_, Shape::Bands) => Err(format!("`{name}` is a set of bands, not a number")),
            (i, _) => Ok(i),
        }
    }

    fn add_output(&mut self, name: &str, shape: Shape) -> Result<(), String> {
        if name.is_empty() {
            return Err("an output needs a name".into());
        }
        if self.items.iter().any(|i| i == name) {
            return Err(format!("output `{name}` would overwrite the item column"));
        }
        if self.outputs.iter().any(|(n, _)| n == name) {
            return Err(format!("output `{name}` is declared twice"));
        }
        self.outputs.push((name.to_string(), shape));
        Ok(())
    }
}
