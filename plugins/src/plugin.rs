//! What every plugin says about itself, and the two kinds of plugin.

use crate::{Instrument, Predictor};
use std::fmt;
use std::path::PathBuf;

/// Identity of a plugin, as `mixspec plugins list` shows it.
#[derive(Debug, Clone)]
pub struct About {
    pub id: String,
    /// Form or algorithm version, e.g. the year of a published key.
    pub version: String,
    pub title: String,
    pub origin: Origin,
}

/// Where a plugin comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Compiled into mixspec.
    Bundled,
    /// A `.rhai` file.
    Script(PathBuf),
    /// A native library.
    Native(PathBuf),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Bundled => f.write_str("bundled"),
            Origin::Script(p) | Origin::Native(p) => write!(f, "{}", p.display()),
        }
    }
}

pub enum Plugin {
    Instrument(Instrument),
    Predictor(Predictor),
}

impl Plugin {
    pub fn about(&self) -> &About {
        match self {
            Plugin::Instrument(i) => i.about(),
            Plugin::Predictor(p) => p.about(),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Plugin::Instrument(_) => "instrument",
            Plugin::Predictor(_) => "predictor",
        }
    }

    /// Runs the plugin's test vectors: one entry per vector, `Err` saying what differed.
    pub fn run_tests(&self) -> Vec<Result<(), String>> {
        match self {
            Plugin::Instrument(i) => i.run_tests(),
            Plugin::Predictor(p) => p.run_tests(),
        }
    }
}
