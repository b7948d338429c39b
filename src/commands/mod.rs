//! One module per subcommand.

pub mod fit;
pub mod plugins;
pub mod score;
