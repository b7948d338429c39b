//! A power curve: the power at each number of subjects with its 95% interval, on a 0–1 axis
//! with the conventional 80% marked.

use mixspec_analysis::PowerCurve;
use mixspec_dsl::spec::FigureOptions;

use super::{Axis, Canvas, Entry, Panel};
use crate::report::format::significant;

const TARGET: f64 = 0.8;

pub fn power_curve(curve: &PowerCurve, options: &FigureOptions) -> String {
    let f = options.font_size;
    let sizes: Vec<f64> = curve.rows.iter().map(|r| r.subjects as f64).collect();
    let lo = sizes.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = sizes.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (left, top, right, bottom) = (f * 6.0, f * 4.6, f * 13.0, 4.0 + f * 4.4);
    let panel_width = options
        .width
        .map_or(400.0, |w| (w - left - right).max(120.0));
    let panel_height = options
        .height
        .map_or(320.0, |h| (h - top - bottom).max(f * 8.0));
    let width = left + panel_width + right;
    let height = top + panel_height + bottom;
    let p = Panel {
        left,
        top,
        width: panel_width,
        height: panel_height,
        x: Axis::padded(lo, hi),
        y: Axis::fixed(0.0, 1.0, 0.2, 1),
    };
    let mut c = Canvas::new(options, width, height);
    let title = options.title.clone().unwrap_or_else(|| {
        format!(
            "Power of {}: test of {} ({}, α = {})",
            curve.name,
            curve.test,
            curve.statistic,
            // As written: 0.05, not 0.0500.
            curve.alpha
        )
    });
    c.title(left, &title);
    c.axes(&p, "Subjects", Some("Power"));
    let target = p.sy(TARGET);
    c.line(
        &[(p.left, target), (p.left + p.width, target)],
        "#D55E00",
        "6 4",
        1.0,
    );
    let (colour, dash) = c.style(0);
    let line: Vec<(f64, f64)> = curve
        .rows
        .iter()
        .filter(|r| r.power.is_finite())
        .map(|r| (p.sx(r.subjects as f64), p.sy(r.power)))
        .collect();
    c.line(&line, &colour, dash, 2.5);
    for r in curve.rows.iter().filter(|r| r.power.is_finite()) {
        let x = p.sx(r.subjects as f64);
        c.line(&[(x, p.sy(r.lower)), (x, p.sy(r.upper))], &colour, "", 1.2);
        c.point(
            x,
            p.sy(r.power),
            &colour,
            &format!(
                "{} subjects: power {} (95% {}–{}), {} simulations, {} failed",
                r.subjects,
                significant(r.power, 3),
                significant(r.lower, 3),
                significant(r.upper, 3),
                r.simulations,
                r.failed
            ),
        );
    }
    let lx = p.left + p.width + f * 1.5;
    let entries = [
        Entry {
            text: "Power",
            colour: colour.clone(),
            dash,
            line: true,
            point: true,
            band: false,
        },
        Entry {
            text: "80% power",
            colour: "#D55E00".to_string(),
            dash: "6 4",
            line: true,
            point: false,
            band: false,
        },
    ];
    let below = c.legend(lx, top + f * 0.6, None, &entries);
    c.note(lx, below + f * 0.4, "Bars: 95% intervals");
    c.note(lx, below + f * 1.7, &format!("From {}", curve.source));
    c.finish()
}
