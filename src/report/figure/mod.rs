//! Figures as plain SVG, and the same pictures as PNG and PDF (`export`): the trajectory
//! figures of `plot trajectories` and the power curves of `power`.
//!
//! The SVG is written by hand: a few shapes do not need a plotting library, and the output is
//! deterministic text. Both kinds of figure draw their axes, grids, frames and legends with
//! this module's [`Canvas`], so they look alike and are laid out by the same rules (padding
//! around the data, round ticks, sizes scaled with the font).

pub mod export;
mod power;
mod trajectories;

use std::fmt::Write;

use mixspec_dsl::spec::{FigureOptions, Palette};

pub use power::power_curve;
pub use trajectories::trajectories;

/// Okabe & Ito's colour-blind-safe palette, then darker tones.
const OKABE_ITO: [&str; 12] = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442",
    "#7F3C8D", "#11A579", "#3969AC", "#80BA5A",
];
/// Greys that stay apart in black-and-white print.
const GREYS: [&str; 6] = [
    "#000000", "#6e6e6e", "#a8a8a8", "#3a3a3a", "#8c8c8c", "#c4c4c4",
];
/// Dash patterns used with the grey palette, so that lines differ by more than their grey.
const DASHES: [&str; 6] = ["", "8 4", "2 3", "10 3 2 3", "4 4", "1 2"];

/// Share of an axis's data range added on each side, so that no point sits on the frame.
const PADDING: f64 = 0.04;

pub(super) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The colour and dash pattern of the `i`th group.
fn style(palette: &Palette, i: usize) -> (String, &'static str) {
    match palette {
        Palette::OkabeIto => (OKABE_ITO[i % OKABE_ITO.len()].to_string(), ""),
        Palette::Grey => (GREYS[i % GREYS.len()].to_string(), DASHES[i % DASHES.len()]),
        Palette::Custom(colours) => (colours[i % colours.len()].clone(), ""),
    }
}

/// Round tick values covering `[lo, hi]`, about five of them, and the decimals their labels
/// need.
fn ticks(lo: f64, hi: f64) -> (Vec<f64>, usize) {
    // A single value (one time point, a flat line) gets a range around it.
    let (lo, hi) = if hi - lo > 1e-9 * hi.abs().max(1.0) {
        (lo, hi)
    } else {
        let half = 0.5 * lo.abs().max(1.0);
        (lo - half, hi + half)
    };
    let span = hi - lo;
    let power = 10f64.powf((span / 5.0).log10().floor());
    let multiple = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .find(|m| span / (m * power) <= 6.0)
        .unwrap_or(10.0);
    let step = multiple * power;
    let decimals = (-(step.log10().floor()) as i64 + i64::from(multiple == 2.5)).max(0) as usize;
    let first = (lo / step).floor();
    let values = (0..20)
        .map(|i| (first + i as f64) * step + 0.0)
        .take_while(|t| t - step < hi)
        .collect();
    (values, decimals)
}

fn tick_label(x: f64, decimals: usize) -> String {
    // `+ 0.0` turns −0 into 0.
    format!("{:.decimals$}", x + 0.0)
}

/// One axis: the data range drawn (the data's, padded) and the round ticks inside it.
#[derive(Debug, Clone)]
pub(super) struct Axis {
    pub min: f64,
    pub max: f64,
    pub ticks: Vec<f64>,
    pub decimals: usize,
}

impl Axis {
    /// An axis for data from `lo` to `hi`, padded by [`PADDING`] on each side; ticks outside
    /// the padded range are dropped.
    pub fn padded(lo: f64, hi: f64) -> Axis {
        let (lo, hi) = if lo.is_finite() && hi.is_finite() {
            (lo.min(hi), hi.max(lo))
        } else {
            (0.0, 1.0)
        };
        let (all, decimals) = ticks(lo, hi);
        let span = if hi > lo {
            hi - lo
        } else {
            // The range `ticks` put around a single value.
            all[all.len() - 1] - all[0]
        };
        let (min, max) = if hi > lo {
            (lo - PADDING * span, hi + PADDING * span)
        } else {
            (lo - span / 2.0, hi + span / 2.0)
        };
        let ticks = all
            .into_iter()
            .filter(|t| *t >= min - 1e-9 * span && *t <= max + 1e-9 * span)
            .collect();
        Axis {
            min,
            max,
            ticks,
            decimals,
        }
    }

    /// A fixed range with ticks every `step` (power's 0–1), padded as [`Axis::padded`] pads.
    pub fn fixed(min: f64, max: f64, step: f64, decimals: usize) -> Axis {
        let n = ((max - min) / step).round() as usize;
        let pad = PADDING * (max - min);
        Axis {
            min: min - pad,
            max: max + pad,
            ticks: (0..=n).map(|i| min + i as f64 * step).collect(),
            decimals,
        }
    }

    /// Where `v` falls between `from` (the axis's min) and `to` (its max), in pixels.
    fn at(&self, v: f64, from: f64, to: f64) -> f64 {
        from + (v - self.min) / (self.max - self.min).max(f64::MIN_POSITIVE) * (to - from)
    }
}

/// A plotting area: its place on the canvas and its axes.
#[derive(Debug, Clone)]
pub(super) struct Panel {
    pub left: f64,
    pub top: f64,
    pub width: f64,
    pub height: f64,
    pub x: Axis,
    pub y: Axis,
}

impl Panel {
    pub fn sx(&self, x: f64) -> f64 {
        self.x.at(x, self.left, self.left + self.width)
    }

    pub fn sy(&self, y: f64) -> f64 {
        self.y.at(y, self.top + self.height, self.top)
    }

    pub fn bottom(&self) -> f64 {
        self.top + self.height
    }
}

/// One entry of a legend: a line and/or a point in the group's style, and its text.
pub(super) struct Entry<'a> {
    pub text: &'a str,
    pub colour: String,
    pub dash: &'static str,
    pub line: bool,
    pub point: bool,
    pub band: bool,
}

/// An SVG being written, with the figure's font and palette.
pub(super) struct Canvas<'a> {
    svg: String,
    options: &'a FigureOptions,
}

impl<'a> Canvas<'a> {
    pub fn new(options: &'a FigureOptions, width: f64, height: f64) -> Canvas<'a> {
        let mut svg = String::new();
        let _ = writeln!(
            svg,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="{}, sans-serif" font-size="{}">"#,
            escape(&options.font),
            options.font_size
        );
        let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
        Canvas { svg, options }
    }

    /// The base font size; titles and notes are sized from it.
    pub fn font(&self) -> f64 {
        self.options.font_size
    }

    /// A rough width of `text` in the base font: what layout needs to keep text apart.
    pub fn text_width(&self, text: &str, scale: f64) -> f64 {
        text.chars().count() as f64 * self.font() * scale * 0.58
    }

    pub fn style(&self, i: usize) -> (String, &'static str) {
        style(&self.options.palette, i)
    }

    /// `text` at (x, y); `anchor` start, middle or end; `scale` of the base font size;
    /// `extra` more attributes.
    pub fn text(&mut self, x: f64, y: f64, anchor: &str, scale: f64, extra: &str, text: &str) {
        let _ = writeln!(
            self.svg,
            r#"<text x="{x:.1}" y="{y:.1}" text-anchor="{anchor}" font-size="{:.1}"{}{extra}>{}</text>"#,
            self.font() * scale,
            if extra.is_empty() { "" } else { " " },
            escape(text)
        );
    }

    /// The figure's title, top left.
    pub fn title(&mut self, x: f64, text: &str) {
        if !text.is_empty() {
            let y = self.font() * 1.9;
            self.text(x, y, "start", 1.25, r#"font-weight="bold""#, text);
        }
    }

    /// A panel's grid, tick labels and frame, and its axis titles (`None`: no y title, as on
    /// panels beside the first).
    pub fn axes(&mut self, p: &Panel, x_title: &str, y_title: Option<&str>) {
        let f = self.font();
        for &x in &p.x.ticks {
            let px = p.sx(x);
            let _ = writeln!(
                self.svg,
                r##"<line x1="{px:.1}" y1="{:.1}" x2="{px:.1}" y2="{:.1}" stroke="#e5e5e5"/><line x1="{px:.1}" y1="{:.1}" x2="{px:.1}" y2="{:.1}" stroke="#444"/>"##,
                p.top,
                p.bottom(),
                p.bottom(),
                p.bottom() + 4.0
            );
            self.text(
                px,
                p.bottom() + 4.0 + f * 1.1,
                "middle",
                1.0,
                "",
                &tick_label(x, p.x.decimals),
            );
        }
        for &y in &p.y.ticks {
            let py = p.sy(y);
            let _ = writeln!(
                self.svg,
                r##"<line x1="{:.1}" y1="{py:.1}" x2="{:.1}" y2="{py:.1}" stroke="#e5e5e5"/><line x1="{:.1}" y1="{py:.1}" x2="{:.1}" y2="{py:.1}" stroke="#444"/>"##,
                p.left,
                p.left + p.width,
                p.left - 4.0,
                p.left
            );
            self.text(
                p.left - 7.0,
                py + f * 0.35,
                "end",
                1.0,
                "",
                &tick_label(y, p.y.decimals),
            );
        }
        let _ = writeln!(
            self.svg,
            r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="none" stroke="#444"/>"##,
            p.left, p.top, p.width, p.height
        );
        self.text(
            p.left + p.width / 2.0,
            p.bottom() + 4.0 + f * 2.6,
            "middle",
            1.08,
            "",
            x_title,
        );
        if let Some(y_title) = y_title {
            let widest =
                p.y.ticks
                    .iter()
                    .map(|&y| tick_label(y, p.y.decimals).len())
                    .max()
                    .unwrap_or(1) as f64;
            let x = p.left - 12.0 - widest * f * 0.58 - f * 0.5;
            let _ = writeln!(
                self.svg,
                r#"<text transform="translate({x:.1} {:.1}) rotate(-90)" text-anchor="middle" font-size="{:.1}">{}</text>"#,
                p.top + p.height / 2.0,
                f * 1.08,
                escape(y_title)
            );
        }
    }

    /// A polyline through `points` (pixels) in a group's style.
    pub fn line(&mut self, points: &[(f64, f64)], colour: &str, dash: &str, width: f64) {
        let path: Vec<String> = points
            .iter()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .map(|(x, y)| format!("{x:.1},{y:.1}"))
            .collect();
        let dash = if dash.is_empty() {
            String::new()
        } else {
            format!(r#" stroke-dasharray="{dash}""#)
        };
        let _ = writeln!(
            self.svg,
            r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="{width}"{dash}/>"#,
            path.join(" ")
        );
    }

    /// A shaded band between `lower` and `upper` (pixels, the same x's).
    pub fn band(&mut self, lower: &[(f64, f64)], upper: &[(f64, f64)], colour: &str) {
        let path: Vec<String> = upper
            .iter()
            .chain(lower.iter().rev())
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .map(|(x, y)| format!("{x:.1},{y:.1}"))
            .collect();
        let _ = writeln!(
            self.svg,
            r#"<polygon points="{}" fill="{colour}" fill-opacity="0.15" stroke="none"/>"#,
            path.join(" ")
        );
    }

    /// A point with a tooltip.
    pub fn point(&mut self, x: f64, y: f64, colour: &str, tooltip: &str) {
        let _ = writeln!(
            self.svg,
            r#"<circle cx="{x:.1}" cy="{y:.1}" r="{:.1}" fill="{colour}" fill-opacity="0.8" stroke="white" stroke-width="0.6"><title>{}</title></circle>"#,
            self.font() * 0.32,
            escape(tooltip)
        );
    }

    /// A legend at (x, y): its title (bold) and one entry per line; returns the y below it.
    pub fn legend(&mut self, x: f64, y: f64, title: Option<&str>, entries: &[Entry<'_>]) -> f64 {
        let f = self.font();
        let step = f * 1.6;
        let mut y = y;
        if let Some(title) = title {
            self.text(
                x,
                y + f * 0.35,
                "start",
                1.0,
                r#"font-weight="bold""#,
                title,
            );
            y += step;
        }
        for e in entries {
            if e.band {
                let _ = writeln!(
                    self.svg,
                    r#"<rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{}" fill-opacity="0.15"/>"#,
                    y - f * 0.45,
                    f * 2.0,
                    f * 0.9,
                    e.colour
                );
            }
            if e.line {
                self.line(&[(x, y), (x + f * 2.0, y)], &e.colour, e.dash, 2.5);
            }
            if e.point {
                self.point(x + f, y, &e.colour, e.text);
            }
            self.text(x + f * 2.6, y + f * 0.35, "start", 1.0, "", e.text);
            y += step;
        }
        y
    }

    /// A small grey note.
    pub fn note(&mut self, x: f64, y: f64, text: &str) {
        self.text(x, y, "start", 0.85, r##"fill="#555""##, text);
    }

    pub fn finish(mut self) -> String {
        self.svg.push_str("</svg>\n");
        self.svg
    }
}

#[cfg(test)]
mod tests {
    use super::{tick_label, ticks, Axis};

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(ticks(0.0, 9.0), (vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0], 0));
        assert_eq!(ticks(3.0, 36.0), (vec![0.0, 10.0, 20.0, 30.0, 40.0], 0));
        let (t, _) = ticks(251.0, 349.5);
        assert_eq!(t.first(), Some(&240.0));
        assert!(*t.last().unwrap() >= 349.5);
        let (t, decimals) = ticks(4.1, 5.3);
        assert_eq!(decimals, 2);
        assert_eq!(tick_label(t[0], decimals), "4.00");
        assert!(!ticks(5.0, 5.0).0.is_empty());
    }

    #[test]
    fn axes_are_padded_so_points_do_not_sit_on_the_frame() {
        let a = Axis::padded(0.0, 36.0);
        assert!(a.min < 0.0 && a.max > 36.0);
        assert!((a.min + 0.04 * 36.0).abs() < 1e-12);
        // Only ticks inside the padded range: 40 would leave a gap past the data.
        assert_eq!(a.ticks, vec![0.0, 10.0, 20.0, 30.0]);
        let single = Axis::padded(5.0, 5.0);
        assert!(single.min < 5.0 && single.max > 5.0 && !single.ticks.is_empty());
    }
}
