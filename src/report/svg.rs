//! Trajectory plots as plain SVG: per model a panel with a line per group for the model's
//! predicted mean over time and points for the observed means at each time point, axes with
//! round ticks and one legend.
//! Written by hand: a few shapes do not need a plotting library, and the output is
//! deterministic text.

use std::fmt::Write;

use mixspec_analysis::{PowerCurve, Trajectories};

use super::format::significant;

const HEIGHT: f64 = 480.0;
const LEFT: f64 = 72.0;
const RIGHT: f64 = 190.0;
const TOP: f64 = 48.0;
const BOTTOM: f64 = 58.0;

/// Okabe & Ito's colour-blind-safe palette, then darker tones.
const COLOURS: [&str; 12] = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442",
    "#7F3C8D", "#11A579", "#3969AC", "#80BA5A",
];

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
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

fn label(x: f64, decimals: usize) -> String {
    // `+ 0.0` turns −0 into 0.
    format!("{:.decimals$}", x + 0.0)
}

/// Width of one panel's plotting area.
const PANEL: f64 = 420.0;
/// Space between panels, for the next panel's tick labels.
const GAP: f64 = 56.0;

/// The range of x and y values of some panels' lines and points.
fn extent<'a>(panels: impl Iterator<Item = &'a Trajectories>) -> (f64, f64, f64, f64) {
    let points = panels.flat_map(|t| &t.groups).flat_map(|g| {
        g.predicted
            .iter()
            .copied()
            .chain(g.observed.iter().map(|o| (o.time, o.mean)))
    });
    let (mut x_lo, mut x_hi, mut y_lo, mut y_hi) = (
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    );
    for (x, y) in points.filter(|(x, y)| x.is_finite() && y.is_finite()) {
        x_lo = x_lo.min(x);
        x_hi = x_hi.max(x);
        y_lo = y_lo.min(y);
        y_hi = y_hi.max(y);
    }
    if x_lo.is_finite() {
        (x_lo, x_hi, y_lo, y_hi)
    } else {
        (0.0, 1.0, 0.0, 1.0)
    }
}

/// A y axis: its ticks, their decimals, and the range drawn.
fn y_axis(lo: f64, hi: f64) -> (Vec<f64>, usize, f64, f64) {
    let (ticks, decimals) = ticks(lo, hi);
    let (min, max) = (ticks[0].min(lo), ticks[ticks.len() - 1].max(hi));
    (ticks, decimals, min, max)
}

/// `text` in lines of at most `width` characters, broken at spaces.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match lines.last_mut() {
            Some(l) if l.chars().count() + 1 + word.chars().count() <= width.max(20) => {
                l.push(' ');
                l.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}

/// A figure of one panel per model, side by side; the groups keep their colour in every
/// panel. The panels share the y axis when their values overlap (subscales of one
/// questionnaire, so levels compare at a glance) and each has its own when they do not
/// (different instruments).
pub fn trajectories(panels: &[Trajectories]) -> String {
    let (x_lo, x_hi, _, _) = extent(panels.iter());
    let (x_ticks, x_decimals) = ticks(x_lo, x_hi);
    let (x_min, x_max) = (x_ticks[0].min(x_lo), x_ticks[x_ticks.len() - 1].max(x_hi));
    let own: Vec<(f64, f64)> = panels
        .iter()
        .map(|t| {
            let (_, _, lo, hi) = extent(std::iter::once(t));
            (lo, hi)
        })
        .collect();
    let overlap = own.iter().map(|r| r.0).fold(f64::NEG_INFINITY, f64::max)
        <= own.iter().map(|r| r.1).fold(f64::INFINITY, f64::min);
    let (_, _, all_lo, all_hi) = extent(panels.iter());
    let y_axes: Vec<(Vec<f64>, usize, f64, f64)> = own
        .iter()
        .map(|&(lo, hi)| {
            if overlap {
                y_axis(all_lo, all_hi)
            } else {
                y_axis(lo, hi)
            }
        })
        .collect();
    let n = panels.len().max(1) as f64;
    let width = LEFT + n * PANEL + (n - 1.0) * GAP + RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    // Every group of any panel, in order of appearance: its colour and legend entry.
    let mut labels: Vec<&str> = Vec::new();
    for g in panels.iter().flat_map(|t| &t.groups) {
        if !labels.contains(&g.label.as_str()) {
            labels.push(&g.label);
        }
    }
    let colour = |label: &str| {
        let i = labels.iter().position(|l| *l == label).unwrap_or(0);
        COLOURS[i % COLOURS.len()]
    };

    // A generalized model's scale (what its curves and points are), as a caption below.
    let mut notes: Vec<&str> = Vec::new();
    for n in panels.iter().filter_map(|t| t.scale_note.as_deref()) {
        if !notes.contains(&n) {
            notes.push(n);
        }
    }
    let caption: Vec<String> = notes
        .iter()
        .flat_map(|n| wrap(n, (width / 6.2) as usize))
        .collect();
    let height = HEIGHT + 15.0 * caption.len() as f64;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    for (i, line) in caption.iter().enumerate() {
        let _ = writeln!(
            s,
            r##"<text x="{LEFT}" y="{:.1}" font-size="11" fill="#444">{}</text>"##,
            HEIGHT + 4.0 + 15.0 * i as f64,
            escape(line)
        );
    }
    let first = panels.first();
    let responses: Vec<&str> = panels.iter().map(|t| t.response.as_str()).collect();
    let models: Vec<&str> = panels.iter().map(|t| t.model.as_str()).collect();
    let time = first.map_or("time", |t| t.time.as_str());
    let by = first
        .and_then(|t| t.by.as_ref())
        .map_or(String::new(), |b| format!(" by {b}"));
    let _ = writeln!(
        s,
        r#"<text x="{LEFT}" y="22" font-size="15" font-weight="bold">{}</text>"#,
        escape(&format!(
            "{} over {time}{by}: model{} {}",
            responses.join(", "),
            if models.len() == 1 { "" } else { "s" },
            models.join(", ")
        ))
    );
    for (k, (t, (y_ticks, y_decimals, y_min, y_max))) in panels.iter().zip(&y_axes).enumerate() {
        let (y_decimals, y_min, y_max) = (*y_decimals, *y_min, *y_max);
        let sy =
            |y: f64| TOP + plot_h - (y - y_min) / (y_max - y_min).max(f64::MIN_POSITIVE) * plot_h;
        let left = LEFT + k as f64 * (PANEL + GAP);
        let sx = |x: f64| left + (x - x_min) / (x_max - x_min).max(f64::MIN_POSITIVE) * PANEL;
        if panels.len() > 1 {
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-weight="bold">{}</text>"#,
                left + PANEL / 2.0,
                TOP - 8.0,
                escape(&t.response)
            );
        }
        // Grid and ticks.
        for &x in &x_ticks {
            let px = sx(x);
            let _ = writeln!(
                s,
                r##"<line x1="{px:.1}" y1="{TOP}" x2="{px:.1}" y2="{:.1}" stroke="#e5e5e5"/><text x="{px:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
                TOP + plot_h,
                TOP + plot_h + 18.0,
                label(x, x_decimals)
            );
        }
        for &y in y_ticks {
            let py = sy(y);
            let _ = writeln!(
                s,
                r##"<line x1="{left}" y1="{py:.1}" x2="{:.1}" y2="{py:.1}" stroke="#e5e5e5"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
                left + PANEL,
                left - 8.0,
                py + 4.0,
                label(y, y_decimals)
            );
        }
        let _ = writeln!(
            s,
            r##"<rect x="{left}" y="{TOP}" width="{PANEL}" height="{plot_h}" fill="none" stroke="#444"/>"##
        );
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            left + PANEL / 2.0,
            HEIGHT - 14.0,
            escape(&t.time)
        );
        for g in &t.groups {
            let colour = colour(&g.label);
            let path: Vec<String> = g
                .predicted
                .iter()
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .map(|&(x, y)| format!("{:.1},{:.1}", sx(x), sy(y)))
                .collect();
            let _ = writeln!(
                s,
                r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2.5"/>"#,
                path.join(" ")
            );
            for o in &g.observed {
                let _ = writeln!(
                    s,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{colour}" fill-opacity="0.75"><title>{}</title></circle>"#,
                    sx(o.time),
                    sy(o.mean),
                    escape(&format!(
                        "{}: mean {} at {} (n = {})",
                        g.label,
                        significant(o.mean, 4),
                        significant(o.time, 4),
                        o.n
                    ))
                );
            }
        }
    }
    let _ = writeln!(
        s,
        r#"<text transform="translate(18 {:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
        TOP + plot_h / 2.0,
        escape(&responses.join(", "))
    );
    // Legend.
    let lx = width - RIGHT + 18.0;
    for (i, l) in labels.iter().enumerate() {
        let colour = colour(l);
        let ly = TOP + 10.0 + 20.0 * i as f64;
        let _ = writeln!(
            s,
            r#"<line x1="{lx}" y1="{ly}" x2="{:.1}" y2="{ly}" stroke="{colour}" stroke-width="2.5"/><circle cx="{:.1}" cy="{ly}" r="3.5" fill="{colour}"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            lx + 24.0,
            lx + 12.0,
            lx + 32.0,
            ly + 4.0,
            escape(l)
        );
    }
    let note_y = TOP + 20.0 + 20.0 * labels.len() as f64;
    // A generalized model's curves and points are on its response scale (the caption).
    let (lines, points) = if caption.is_empty() {
        ("predicted means", "observed means")
    } else {
        ("predicted, b = 0", "observed")
    };
    let _ = writeln!(
        s,
        r##"<text x="{lx:.1}" y="{note_y:.1}" font-size="10" fill="#555">lines: {lines}</text><text x="{lx:.1}" y="{:.1}" font-size="10" fill="#555">points: {points}</text>"##,
        note_y + 14.0
    );
    s.push_str("</svg>\n");
    s
}

/// A power curve: the power at each number of subjects with its 95% interval, on a 0–1
/// axis with the conventional 80% marked.
pub fn power_curve(curve: &PowerCurve) -> String {
    const TARGET: f64 = 0.8;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let width = LEFT + PANEL + RIGHT;
    let sizes: Vec<f64> = curve.rows.iter().map(|r| r.subjects as f64).collect();
    let lo = sizes.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = sizes.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (x_ticks, x_decimals) = ticks(lo.min(hi), hi.max(lo));
    let (x_min, x_max) = (x_ticks[0].min(lo), x_ticks[x_ticks.len() - 1].max(hi));
    let sx = |x: f64| LEFT + (x - x_min) / (x_max - x_min).max(f64::MIN_POSITIVE) * PANEL;
    let sy = |y: f64| TOP + plot_h - y * plot_h;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{HEIGHT}" viewBox="0 0 {width} {HEIGHT}" font-family="Helvetica, Arial, sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{LEFT}" y="22" font-size="15" font-weight="bold">{}</text>"#,
        escape(&format!(
            "Power of {}: test of {} ({}, α = {})",
            curve.name,
            curve.test,
            curve.statistic,
            significant(curve.alpha, 3)
        ))
    );
    for &x in &x_ticks {
        let px = sx(x);
        let _ = writeln!(
            s,
            r##"<line x1="{px:.1}" y1="{TOP}" x2="{px:.1}" y2="{:.1}" stroke="#e5e5e5"/><text x="{px:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            TOP + plot_h,
            TOP + plot_h + 18.0,
            label(x, x_decimals)
        );
    }
    for i in 0..=5 {
        let y = i as f64 / 5.0;
        let py = sy(y);
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{py:.1}" x2="{:.1}" y2="{py:.1}" stroke="#e5e5e5"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            LEFT + PANEL,
            LEFT - 8.0,
            py + 4.0,
            label(y, 1)
        );
    }
    let _ = writeln!(
        s,
        r##"<rect x="{LEFT}" y="{TOP}" width="{PANEL}" height="{plot_h}" fill="none" stroke="#444"/>"##
    );
    let target = sy(TARGET);
    let _ = writeln!(
        s,
        r##"<line x1="{LEFT}" y1="{target:.1}" x2="{:.1}" y2="{target:.1}" stroke="#D55E00" stroke-dasharray="6 4"/><text x="{:.1}" y="{:.1}" fill="#D55E00">80% power</text>"##,
        LEFT + PANEL,
        LEFT + PANEL + 8.0,
        target + 4.0
    );
    let colour = COLOURS[0];
    let path: Vec<String> = curve
        .rows
        .iter()
        .filter(|r| r.power.is_finite())
        .map(|r| format!("{:.1},{:.1}", sx(r.subjects as f64), sy(r.power)))
        .collect();
    let _ = writeln!(
        s,
        r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2.5"/>"#,
        path.join(" ")
    );
    for r in curve.rows.iter().filter(|r| r.power.is_finite()) {
        let x = sx(r.subjects as f64);
        let _ = writeln!(
            s,
            r#"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="{colour}"/><circle cx="{x:.1}" cy="{:.1}" r="4" fill="{colour}"><title>{}</title></circle>"#,
            sy(r.lower),
            sy(r.upper),
            sy(r.power),
            escape(&format!(
                "{} subjects: power {} (95% {}–{}), {} simulations, {} failed",
                r.subjects,
                significant(r.power, 3),
                significant(r.lower, 3),
                significant(r.upper, 3),
                r.simulations,
                r.failed
            ))
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">subjects</text>"#,
        LEFT + PANEL / 2.0,
        HEIGHT - 14.0
    );
    let _ = writeln!(
        s,
        r#"<text transform="translate(18 {:.1}) rotate(-90)" text-anchor="middle">power</text>"#,
        TOP + plot_h / 2.0
    );
    let lx = LEFT + PANEL + 8.0;
    let _ = writeln!(
        s,
        r##"<text x="{lx:.1}" y="{:.1}" font-size="10" fill="#555">bars: 95% intervals</text><text x="{lx:.1}" y="{:.1}" font-size="10" fill="#555">from {}</text>"##,
        TOP + 10.0,
        TOP + 24.0,
        escape(&curve.source)
    );
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::{label, ticks};

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(ticks(0.0, 9.0), (vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0], 0));
        assert_eq!(ticks(3.0, 36.0), (vec![0.0, 10.0, 20.0, 30.0, 40.0], 0));
        let (t, _) = ticks(251.0, 349.5);
        assert_eq!(t.first(), Some(&240.0));
        assert!(*t.last().unwrap() >= 349.5);
        let (t, decimals) = ticks(4.1, 5.3);
        assert_eq!(decimals, 2);
        assert_eq!(label(t[0], decimals), "4.00");
        assert!(!ticks(5.0, 5.0).0.is_empty());
    }
}
