//! A figure's options (`plot … [width 900, height 480, font "Times New Roman", font_size 11,
//! palette grey, dpi 600, title "…"]`): how it is drawn, checked where it is written so that
//! a misspelt option or an impossible size is reported before anything is fitted.

use super::ast::Setting;
use super::diagnostic::{suggest, SpecDiagnostic, SpecErrorKind};

/// The options a plot takes.
pub const FIGURE_OPTIONS: [&str; 8] = [
    "width",
    "height",
    "font",
    "font_size",
    "palette",
    "dpi",
    "title",
    "y_title",
];

/// The most pixels a figure's PNG may have: 2²⁸, 1 GiB while it is drawn (four bytes a
/// pixel). A 7 × 5 inch figure (`width 672, height 480`) at 1200 dpi has 7.4 × 10⁷.
pub const MAX_PNG_PIXELS: u64 = 1 << 28;

/// The named palettes.
pub const PALETTES: [&str; 2] = ["okabe-ito", "grey"];

/// How a figure is drawn. Sizes are in SVG pixels (1/96 inch), as the SVG and PDF files
/// give them; the PNG has `dpi / 96` pixels per SVG pixel.
#[derive(Debug, Clone, PartialEq)]
pub struct FigureOptions {
    /// The whole figure's width; `None`: from the number of panels.
    pub width: Option<f64>,
    /// The whole figure's height; `None`: from what is under the axes.
    pub height: Option<f64>,
    /// Font families, in CSS's order of preference; a generic family is added last.
    pub font: String,
    pub font_size: f64,
    pub palette: Palette,
    /// Pixels per inch of the PNG.
    pub dpi: f64,
    /// The figure's title; `None`: made from the labels of what it shows; empty: none.
    pub title: Option<String>,
    /// The y axis's title; `None`: the responses' labels.
    pub y_title: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Palette {
    /// Okabe & Ito's colour-blind-safe colours.
    OkabeIto,
    /// Greys from black to light grey, for print in black and white.
    Grey,
    /// Colours as written: `palette "#1b9e77 #d95f02 #7570b3"`.
    Custom(Vec<String>),
}

impl Default for FigureOptions {
    fn default() -> Self {
        FigureOptions {
            width: None,
            height: None,
            font: "Helvetica, Arial".to_string(),
            font_size: 12.0,
            palette: Palette::OkabeIto,
            dpi: 300.0,
            title: None,
            y_title: None,
        }
    }
}

/// Whether `text` is a colour as `#rgb` or `#rrggbb`.
fn is_colour(text: &str) -> bool {
    text.strip_prefix('#')
        .is_some_and(|hex| matches!(hex.len(), 3 | 6) && hex.chars().all(|c| c.is_ascii_hexdigit()))
}

/// The options of a plot, or every problem with them.
pub fn figure_options(options: &[Setting]) -> Result<FigureOptions, Vec<SpecDiagnostic>> {
    let mut out = FigureOptions::default();
    let mut problems = Vec::new();
    let mut seen: Vec<&Setting> = Vec::new();
    for setting in options {
        let Setting { key, value } = setting;
        if let Some(first) = seen.iter().find(|s| s.key.text == key.text) {
            problems.push(SpecDiagnostic::listed_twice("option", key, &first.key));
            continue;
        }
        seen.push(setting);
        let bad = |expected: &str, help: &str| {
            SpecDiagnostic::new(
                SpecErrorKind::Setting,
                value.span,
                format!("`{}` is not a valid {}", value.text, key.text),
                format!("expected {expected}"),
            )
            .help(help.to_string())
        };
        let number = |lo: f64, hi: f64| {
            value
                .text
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && (lo..=hi).contains(v))
        };
        let problem = match key.text.as_str() {
            "width" | "height" => match number(200.0, 10_000.0) {
                Some(v) => {
                    if key.text == "width" {
                        out.width = Some(v);
                    } else {
                        out.height = Some(v);
                    }
                    None
                }
                None => Some(bad(
                    "a number of pixels from 200 to 10000",
                    "sizes are SVG pixels, 96 to the inch: `width 672` is 7 inches",
                )),
            },
            "font_size" => match number(6.0, 48.0) {
                Some(v) => {
                    out.font_size = v;
                    None
                }
                None => Some(bad(
                    "a size from 6 to 48",
                    "the size of tick labels and legend text, in SVG pixels; titles are larger",
                )),
            },
            "dpi" => match number(72.0, 1200.0) {
                Some(v) => {
                    out.dpi = v;
                    None
                }
                None => Some(bad(
                    "a resolution from 72 to 1200",
                    "pixels per inch of the PNG; journals ask for 300 to 600",
                )),
            },
            "font" => {
                if value.text.trim().is_empty() || value.text.contains(['<', '>', '&', '"']) {
                    Some(bad(
                        "a font family",
                        "name installed fonts, e.g. `font \"Times New Roman\"`; a generic family is added as the last choice",
                    ))
                } else {
                    out.font = value.text.clone();
                    None
                }
            }
            "title" => {
                out.title = Some(value.text.clone());
                None
            }
            "y_title" => {
                out.y_title = Some(value.text.clone());
                None
            }
            "palette" => {
                let words: Vec<&str> = value.text.split_whitespace().collect();
                match value.text.to_ascii_lowercase().as_str() {
                    "okabe-ito" => {
                        out.palette = Palette::OkabeIto;
                        None
                    }
                    "grey" | "gray" => {
                        out.palette = Palette::Grey;
                        None
                    }
                    _ if !words.is_empty() && words.iter().all(|w| is_colour(w)) => {
                        out.palette =
                            Palette::Custom(words.iter().map(|w| w.to_string()).collect());
                        None
                    }
                    _ => Some(bad(
                        "okabe-ito, grey or colours",
                        &format!(
                            "{}, or list colours: `palette \"#1b9e77 #d95f02 #7570b3\"`",
                            suggest(&value.text, "palette", &PALETTES)
                        ),
                    )),
                }
            }
            _ => Some(
                SpecDiagnostic::new(
                    SpecErrorKind::Setting,
                    key.span,
                    format!("unknown plot option `{}`", key.text),
                    "not a plot option",
                )
                .help(suggest(&key.text, "plot option", &FIGURE_OPTIONS)),
            ),
        };
        problems.extend(problem);
    }
    // The PNG's pixels, a side left to the layout taken at the least it can be: past the
    // limit, drawing it would exhaust the memory (10000 × 10000 at 1200 dpi: 58 GiB).
    let side = |s: Option<f64>| s.unwrap_or(200.0) * out.dpi / 96.0;
    let pixels = side(out.width) * side(out.height);
    let sized = seen
        .iter()
        .rev()
        .find(|s| ["dpi", "width", "height"].contains(&s.key.text.as_str()));
    if let Some(at) = sized.filter(|_| problems.is_empty() && pixels > MAX_PNG_PIXELS as f64) {
        let at = at.value.span;
        problems.push(
            SpecDiagnostic::new(
                SpecErrorKind::Setting,
                at,
                format!(
                    "the PNG would have at least {pixels:.0} pixels, more than the {MAX_PNG_PIXELS} \
                     a figure may have"
                ),
                "too large to draw",
            )
            .help("lower the `dpi` or the size: 300 dpi is enough for print"),
        );
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}
