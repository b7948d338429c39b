//! One module per subcommand.

pub mod check;
pub mod describe_data;
pub mod fit;
pub mod intervals;
pub mod plugins;
pub mod recovery;
pub mod run;
pub mod score;
pub mod simulate;
