//! Trajectory plots as plain SVG: a line per group for the model's predicted mean over time,
//! points for the observed means at each time point, axes with round ticks and a legend.
//! Written by hand: a few shapes do not need a plotting library, and the output is
//! deterministic text.

use std::fmt::Write;

use mixspec_analysis::Trajectories;

use super::format::significant;

const WIDTH: f64 = 760.0;
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

pub fn trajectories(t: &Trajectories) -> String {
    let points = t.groups.iter().flat_map(|g| {
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
    if !x_lo.is_finite() {
        (x_lo, x_hi, y_lo, y_hi) = (0.0, 1.0, 0.0, 1.0);
    }
    let ((x_ticks, x_decimals), (y_ticks, y_decimals)) = (ticks(x_lo, x_hi), ticks(y_lo, y_hi));
    let (x_min, x_max) = (x_ticks[0].min(x_lo), x_ticks[x_ticks.len() - 1].max(x_hi));
    let (y_min, y_max) = (y_ticks[0].min(y_lo), y_ticks[y_ticks.len() - 1].max(y_hi));
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let sx = |x: f64| LEFT + (x - x_min) / (x_max - x_min).max(f64::MIN_POSITIVE) * plot_w;
    let sy = |y: f64| TOP + plot_h - (y - y_min) / (y_max - y_min).max(f64::MIN_POSITIVE) * plot_h;

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="Helvetica, Arial, sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let by = t.by.as_ref().map_or(String::new(), |b| format!(" by {b}"));
    let _ = writeln!(
        s,
        r#"<text x="{LEFT}" y="26" font-size="15" font-weight="bold">{}</text>"#,
        escape(&format!(
            "{} over {}{by}: model {}",
            t.response, t.time, t.model
        ))
    );
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
    for &y in &y_ticks {
        let py = sy(y);
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{py:.1}" x2="{:.1}" y2="{py:.1}" stroke="#e5e5e5"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            LEFT + plot_w,
            LEFT - 8.0,
            py + 4.0,
            label(y, y_decimals)
        );
    }
    let _ = writeln!(
        s,
        r##"<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#444"/>"##
    );
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
        LEFT + plot_w / 2.0,
        HEIGHT - 14.0,
        escape(&t.time)
    );
    let _ = writeln!(
        s,
        r#"<text transform="translate(18 {:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
        TOP + plot_h / 2.0,
        escape(&t.response)
    );
    // Series and legend.
    for (i, g) in t.groups.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
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
        let ly = TOP + 10.0 + 20.0 * i as f64;
        let lx = WIDTH - RIGHT + 18.0;
        let _ = writeln!(
            s,
            r#"<line x1="{lx}" y1="{ly}" x2="{:.1}" y2="{ly}" stroke="{colour}" stroke-width="2.5"/><circle cx="{:.1}" cy="{ly}" r="3.5" fill="{colour}"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            lx + 24.0,
            lx + 12.0,
            lx + 32.0,
            ly + 4.0,
            escape(&g.label)
        );
    }
    let note_y = TOP + 20.0 + 20.0 * t.groups.len() as f64;
    let _ = writeln!(
        s,
        r##"<text x="{:.1}" y="{note_y:.1}" font-size="10" fill="#555">lines: predicted means</text><text x="{:.1}" y="{:.1}" font-size="10" fill="#555">points: observed means</text>"##,
        WIDTH - RIGHT + 18.0,
        WIDTH - RIGHT + 18.0,
        note_y + 14.0
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
