//! One module per subcommand.

pub mod check;
pub mod fit;
pub mod intervals;
pub mod plugins;
pub mod recovery;
pub mod run;
pub mod score;
pub mod simulate;
