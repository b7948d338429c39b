//! One module per subcommand.

pub mod check;
pub mod cluster;
pub mod describe_data;
pub mod fit;
pub mod intervals;
pub mod plugins;
pub mod recovery;
pub mod run;
pub mod score;
pub mod simulate;

use std::ops::RangeInclusive;

/// A parser of a count (`--bootstrap`, `--patients`, `--cohorts`) within `range`: a count
/// past it is refused, naming the bounds, before any work, rather than overflowing an
/// allocation or running for years.
pub fn count(range: RangeInclusive<usize>) -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::new().range(*range.start() as u64..=*range.end() as u64)
}
