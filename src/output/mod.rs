//! Rendering fits for people (lme4-style text) and for programs (the JSON contract).

pub mod console;
pub mod glmm;
pub mod intervals;
pub mod json;
pub mod pad;
pub mod text;

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}
