//! `plot trajectories`: per model a panel with, per group, the predicted mean over time (a
//! line) with its 95% confidence band and the observed means at each time point (points),
//! and under the panels the number of observations at each time point per group, as a
//! number-at-risk table under a survival curve.

use mixspec_analysis::{Trajectories, TrajectoryGroup};
use mixspec_dsl::spec::FigureOptions;

use super::{Axis, Canvas, Entry, Panel};
use crate::report::format::significant;

/// A panel's width unless the options fix the figure's.
const PANEL_WIDTH: f64 = 400.0;
/// A panel's height unless the options fix the figure's.
const PANEL_HEIGHT: f64 = 320.0;

/// The range of times and of values (bands included) of some panels.
fn extent<'a>(panels: impl Iterator<Item = &'a Trajectories>) -> (f64, f64, f64, f64) {
    let mut e = (
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    );
    let mut add = |x: f64, y: f64| {
        if x.is_finite() && y.is_finite() {
            e = (e.0.min(x), e.1.max(x), e.2.min(y), e.3.max(y));
        }
    };
    for g in panels.flat_map(|t| &t.groups) {
        for p in &g.predicted {
            add(p.time, p.lower);
            add(p.time, p.upper);
            add(p.time, p.mean);
        }
        for o in &g.observed {
            add(o.time, o.mean);
        }
    }
    e
}

/// `text` in lines of at most `width` characters (20 or more), broken at spaces.
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

/// The distinct observed times of a panel, in order.
fn times(t: &Trajectories) -> Vec<f64> {
    let mut times: Vec<f64> = t
        .groups
        .iter()
        .flat_map(|g| g.observed.iter().map(|o| o.time))
        .collect();
    times.sort_by(f64::total_cmp);
    times.dedup();
    times
}

/// The figure of one panel per model, side by side; the groups keep their colour in every
/// panel. The panels share the y axis when their values overlap (subscales of one
/// questionnaire, so levels compare at a glance) and each has its own when they do not
/// (different instruments).
pub fn trajectories(panels: &[Trajectories], options: &FigureOptions) -> String {
    let f = options.font_size;
    // Every group of any panel, in order of appearance: its style, legend entry and row of
    // the table of counts.
    let mut labels: Vec<&str> = Vec::new();
    for g in panels.iter().flat_map(|t| &t.groups) {
        if !labels.contains(&g.label.as_str()) {
            labels.push(&g.label);
        }
    }
    let first = panels.first();
    let legend_title = first.and_then(|t| t.by.as_deref());
    let time = first.map_or("time", |t| t.time.as_str());
    let mut responses: Vec<&str> = Vec::new();
    for t in panels {
        if !responses.contains(&t.response.as_str()) {
            responses.push(&t.response);
        }
    }
    let title = options.title.clone().unwrap_or_else(|| {
        format!(
            "{} over {time}{}",
            responses.join(", "),
            legend_title.map_or(String::new(), |b| format!(" by {b}"))
        )
    });

    // Axes: one time axis; y shared when the panels' ranges overlap.
    let (x_lo, x_hi, all_lo, all_hi) = extent(panels.iter());
    let x_axis = Axis::padded(x_lo, x_hi);
    let own: Vec<(f64, f64)> = panels
        .iter()
        .map(|t| {
            let (_, _, lo, hi) = extent(std::iter::once(t));
            (lo, hi)
        })
        .collect();
    let shared = own.iter().map(|r| r.0).fold(f64::NEG_INFINITY, f64::max)
        <= own.iter().map(|r| r.1).fold(f64::INFINITY, f64::min);
    let y_axes: Vec<Axis> = own
        .iter()
        .map(|&(lo, hi)| {
            if shared {
                Axis::padded(all_lo, all_hi)
            } else {
                Axis::padded(lo, hi)
            }
        })
        .collect();

    // Layout, in units of the font.
    let n = panels.len().max(1) as f64;
    let probe = Canvas::new(options, 0.0, 0.0);
    let widest_tick = y_axes
        .iter()
        .flat_map(|a| a.ticks.iter().map(|&y| super::tick_label(y, a.decimals)))
        .map(|l| probe.text_width(&l, 1.0))
        .fold(0.0, f64::max);
    let left = f * 2.6 + widest_tick + 12.0;
    let gap = if shared { f * 2.0 } else { f * 3.0 } + widest_tick + 12.0;
    // A generalized model's scale (what its curves and points are), as a caption below.
    let mut scale_notes: Vec<&str> = Vec::new();
    for n in panels.iter().filter_map(|t| t.scale_note.as_deref()) {
        if !scale_notes.contains(&n) {
            scale_notes.push(n);
        }
    }
    let notes = if scale_notes.is_empty() {
        [
            "Lines: predicted means",
            "Bands: 95% confidence",
            "Points: observed means",
        ]
    } else {
        [
            "Lines: predicted, b = 0",
            "Bands: 95% confidence",
            "Points: observed",
        ]
    };
    let right = labels
        .iter()
        .map(|l| probe.text_width(l, 1.0) + f * 2.6)
        .chain(legend_title.map(|t| probe.text_width(t, 1.05)))
        .chain(notes.iter().map(|t| probe.text_width(t, 0.85)))
        .fold(f * 8.0, f64::max)
        + f * 2.5;
    let panel_width = match options.width {
        Some(w) => ((w - left - right - (n - 1.0) * gap) / n).max(120.0),
        None => PANEL_WIDTH,
    };
    // The table of counts, when each time point has room for its numbers.
    let counts = panels
        .iter()
        .all(|t| times(t).len() as f64 <= panel_width / (f * 2.4));
    let top = if title.is_empty() { f * 3.0 } else { f * 4.6 };
    let axis_space = 4.0 + f * 3.6;
    let table_space = if counts {
        f * 1.8 + f * 1.35 * labels.len() as f64
    } else {
        f * 1.4
    };
    let bottom = axis_space + table_space + f * 0.8;
    let panel_height = match options.height {
        Some(h) => (h - top - bottom).max(f * 8.0),
        None => PANEL_HEIGHT,
    };
    let width = options
        .width
        .unwrap_or(left + n * panel_width + (n - 1.0) * gap + right)
        .max(left + n * panel_width + (n - 1.0) * gap + right);
    let caption: Vec<String> = scale_notes
        .iter()
        .flat_map(|n| wrap(n, ((width - left) / (f * 0.55)) as usize))
        .collect();
    let caption_top = top + panel_height + bottom + f * 0.4;
    let height = caption_top + f * 1.3 * caption.len() as f64;

    let mut c = Canvas::new(options, width, height);
    for (i, line) in caption.iter().enumerate() {
        c.note(left, caption_top + f * 1.3 * i as f64, line);
    }
    c.title(left, &title);
    let style = |label: &str| {
        let i = labels.iter().position(|l| *l == label).unwrap_or(0);
        super::style(&options.palette, i)
    };
    let mut last_right = left;
    for (k, (t, y)) in panels.iter().zip(y_axes).enumerate() {
        let p = Panel {
            left: left + k as f64 * (panel_width + gap),
            top,
            width: panel_width,
            height: panel_height,
            x: x_axis.clone(),
            y,
        };
        last_right = p.left + p.width;
        if panels.len() > 1 || options.title.is_some() {
            c.text(
                p.left + p.width / 2.0,
                top - f * 0.7,
                "middle",
                1.08,
                r#"font-weight="bold""#,
                &t.title,
            );
        }
        let y_title = (k == 0 || !shared).then(|| match (&options.y_title, shared) {
            (Some(y), _) => y.clone(),
            (None, true) => responses.join(", "),
            (None, false) => t.response.clone(),
        });
        c.axes(&p, time, y_title.as_deref());
        draw_groups(&mut c, &p, &t.groups, &style);
        if counts {
            let header = p.bottom() + axis_space + f * 1.0;
            if k == 0 {
                c.text(
                    p.left,
                    header,
                    "start",
                    0.9,
                    r#"font-weight="bold""#,
                    "Number observed at each time point",
                );
            }
            for (row, label) in labels.iter().enumerate() {
                let y = header + f * 1.35 * (row + 1) as f64;
                let Some(g) = t.groups.iter().find(|g| g.label == *label) else {
                    continue;
                };
                let (colour, _) = style(label);
                for o in &g.observed {
                    c.text(
                        p.sx(o.time),
                        y,
                        "middle",
                        0.9,
                        &format!(r#"fill="{colour}""#),
                        &o.n.to_string(),
                    );
                }
            }
        }
    }
    if counts {
        let header = top + panel_height + axis_space + f * 1.0;
        for (row, label) in labels.iter().enumerate() {
            let (colour, _) = style(label);
            c.text(
                last_right + f * 0.8,
                header + f * 1.35 * (row + 1) as f64,
                "start",
                0.9,
                &format!(r#"fill="{colour}""#),
                label,
            );
        }
    } else {
        c.note(
            left,
            top + panel_height + axis_space + f * 1.0,
            "Too many time points to show the number observed at each; see the points' tooltips.",
        );
    }

    let entries: Vec<Entry<'_>> = labels
        .iter()
        .map(|l| {
            let (colour, dash) = style(l);
            Entry {
                text: l,
                colour,
                dash,
                line: true,
                point: true,
                band: true,
            }
        })
        .collect();
    let lx = last_right + f * 1.5;
    let below = c.legend(lx, top + f * 0.6, legend_title, &entries);
    for (i, note) in notes.iter().enumerate() {
        c.note(lx, below + f * 0.4 + f * 1.3 * i as f64, note);
    }
    c.finish()
}

/// A panel's bands, lines and points, bands first so that no line is under another's band.
fn draw_groups(
    c: &mut Canvas<'_>,
    p: &Panel,
    groups: &[TrajectoryGroup],
    style: &dyn Fn(&str) -> (String, &'static str),
) {
    for g in groups {
        let (colour, _) = style(&g.label);
        let lower: Vec<(f64, f64)> = g
            .predicted
            .iter()
            .map(|q| (p.sx(q.time), p.sy(q.lower)))
            .collect();
        let upper: Vec<(f64, f64)> = g
            .predicted
            .iter()
            .map(|q| (p.sx(q.time), p.sy(q.upper)))
            .collect();
        c.band(&lower, &upper, &colour);
    }
    for g in groups {
        let (colour, dash) = style(&g.label);
        let line: Vec<(f64, f64)> = g
            .predicted
            .iter()
            .map(|q| (p.sx(q.time), p.sy(q.mean)))
            .collect();
        c.line(&line, &colour, dash, 2.5);
    }
    for g in groups {
        let (colour, _) = style(&g.label);
        for o in &g.observed {
            c.point(
                p.sx(o.time),
                p.sy(o.mean),
                &colour,
                &format!(
                    "{}: mean {} at {} (n = {})",
                    g.label,
                    significant(o.mean, 4),
                    significant(o.time, 4),
                    o.n
                ),
            );
        }
    }
}
