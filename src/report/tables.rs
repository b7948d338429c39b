//! The article-style tables: `table` (models in the layout of the seed study's Tables III
//! and IV) and `describe` (Table II), as Markdown, as HTML for a manuscript (Word opens it)
//! and as CSV with every number. Markdown and HTML are written from one [`Layout`].

use std::fmt::Write;

use mixspec_analysis::{Coefficient, Descriptives, ModelTable, Summary, TestMethod};

use super::csv::write;
use super::format::{cell, p_paper, stars};
use super::markdown::table;

/// `estimate (SE)` with the same decimals for both: at least two, and enough for the SE's
/// first significant digit.
fn estimate_se(c: &Coefficient) -> String {
    let decimals = if c.std_error > 0.0 && c.std_error.is_finite() {
        ((-c.std_error.log10().floor()) as i64).max(2) as usize
    } else {
        2
    };
    format!(
        "{:.decimals$} ({:.decimals$})",
        c.estimate + 0.0,
        c.std_error
    )
}

/// A predictor's effect as the article shows it: estimate (SE) with stars, or `ns` when
/// p ≥ .05 (the estimate without stars with `[ns show]`).
fn effect(c: Option<&Coefficient>, show_ns: bool) -> String {
    match c {
        None => "—".into(),
        Some(c) if c.p < 0.05 => format!("{}{}", estimate_se(c), stars(c.p)),
        Some(c) if show_ns => estimate_se(c),
        Some(_) => "ns".into(),
    }
}

fn percent(p: Option<f64>) -> String {
    // Rounded first, so that −0.3 shows as 0, not −0.
    p.map_or("—".into(), |p| format!("{}", p.round() + 0.0))
}

/// A table as a paper lays it out, before it is written as Markdown or HTML: its title, its
/// rows (the header first), which columns are right-aligned, and its footnotes (Markdown
/// inline text: `code` only).
pub struct Layout {
    pub title: String,
    pub rows: Vec<Vec<String>>,
    pub right: Vec<bool>,
    pub notes: Vec<String>,
}

/// The slope's column header: "Slope per month" with the time's unit, else "Slope over"
/// the time's label.
fn slope_header(t: &ModelTable) -> String {
    match &t.unit {
        Some(unit) => format!("Slope per {unit} (SE)"),
        None => format!("Slope over {} (SE)", t.time_label),
    }
}

/// The layout of a `table`: one line per model (per contrast of a multi-level predictor).
pub fn model_layout(t: &ModelTable) -> Layout {
    let mut rows = vec![vec![
        "Model".to_string(),
        "Intercept (SE)".to_string(),
        slope_header(t),
        "Explained intercept %".to_string(),
        "Explained slope %".to_string(),
        "AIC".to_string(),
        "ΔAIC".to_string(),
        "n (subjects)".to_string(),
    ]];
    let mut refitted = Vec::new();
    let mut without_effect = Vec::new();
    for line in &t.rows {
        let aic = format!("{:.0}", line.aic);
        let n = format!("{} ({})", line.n_obs, line.n_subjects);
        if line.reference.is_none() {
            let e = &line.effects[0];
            let plain = |c: Option<&Coefficient>| c.map_or("—".into(), estimate_se);
            // "ref" only where rows below refer to it, as the article leaves WSAS and BSI blank.
            let referenced = t
                .rows
                .iter()
                .any(|l| l.reference.as_deref() == Some(line.model.as_str()));
            let mark = if referenced { "ref" } else { "" };
            rows.push(vec![
                line.label.clone(),
                plain(e.intercept.as_ref()),
                plain(e.slope.as_ref()),
                mark.into(),
                mark.into(),
                aic,
                String::new(),
                n,
            ]);
            continue;
        }
        let mut delta = String::new();
        let mut mark = "";
        if let (Some(r), Some(reference)) = (&line.reference_fit, &line.reference) {
            // Rounded first, so that −0.3 shows as 0, not −0.
            delta = format!("{}", (line.aic - r.aic).round() + 0.0);
            if r.refitted {
                mark = " †";
                refitted.push(format!(
                    "{}: `{reference}` on {} ({}), AIC {:.0}",
                    line.label, r.n_obs, r.n_subjects, r.aic
                ));
            }
        }
        if let Some(note) = &line.note {
            without_effect.push(format!("{}: {note}", line.label));
        }
        let noted = if line.note.is_some() { " ‡" } else { "" };
        for (k, e) in line.effects.iter().enumerate() {
            let label = match (&e.label, line.effects.len()) {
                (Some(term), n) if n > 1 => format!("{}: {term}{mark}{noted}", line.label),
                _ => format!("{}{mark}{noted}", line.label),
            };
            let first = k == 0;
            let only_first = |text: &str| {
                if first {
                    text.to_string()
                } else {
                    String::new()
                }
            };
            rows.push(vec![
                label,
                effect(e.intercept.as_ref(), t.show_ns),
                effect(e.slope.as_ref(), t.show_ns),
                only_first(&percent(line.explained_intercept)),
                only_first(&percent(line.explained_slope)),
                only_first(&aic),
                only_first(&delta),
                only_first(&n),
            ]);
        }
    }
    let mut notes = vec![format!(
        "Reference rows: intercept and slope over {time}. Other rows: the effect of what the \
         model adds to the reference above it on the intercept (main effect) and on the slope \
         (interaction with {time}); * p < .05, ** p < .01, *** p < .001 ({tests}), {ns}. \
         Explained: % of the reference's random intercept and slope variance. AIC as fitted \
         (the same method within a block); n: observations (subjects) of the fit.",
        time = t.time_label.to_lowercase(),
        tests = tests_used(t),
        ns = if t.show_ns {
            "estimates without stars: p ≥ .05"
        } else {
            "ns: p ≥ .05"
        },
    )];
    // How each row's reference was fitted: explained variance and ΔAIC compare fits to the
    // same observations only.
    notes.push(format!(
        "Explained variance and ΔAIC (the row's AIC minus its reference's) compare each row \
         with its reference fitted to the same observations: {}",
        if refitted.is_empty() {
            "every row has its reference's observations, so the reference is used as fitted."
                .to_string()
        } else {
            format!(
                "rows marked † have fewer, and their reference was refitted to them ({}); \
                 the other rows have their reference's observations and use it as fitted.",
                refitted.join("; ")
            )
        }
    ));
    if !without_effect.is_empty() {
        notes.push(format!(
            "‡ No effect to show: {}.",
            without_effect.join("; ")
        ));
    }
    let negative: Vec<&str> = t
        .rows
        .iter()
        .filter(|l| {
            [l.explained_intercept, l.explained_slope]
                .iter()
                .flatten()
                .any(|p| p.round() < 0.0)
        })
        .map(|l| l.label.as_str())
        .collect();
    if !negative.is_empty() {
        notes.push(format!(
            "A negative explained variance ({}) means that the model's random-effect variance \
             is larger than its reference's: the added predictor did not account for \
             differences between subjects, and the variance was estimated a little larger with \
             it (estimates of variance components shift when fixed effects are added; a few \
             percent either way is within their sampling error). It is not an error.",
            negative.join("; ")
        ));
    }
    Layout {
        title: t.name.clone(),
        rows,
        right: vec![false, true, true, true, true, true, true, true],
        notes,
    }
}

/// The tests a table's stars come from, in words: the rows' models' own.
fn tests_used(t: &ModelTable) -> String {
    let mut methods: Vec<TestMethod> = Vec::new();
    for line in &t.rows {
        if !methods.contains(&line.method) {
            methods.push(line.method);
        }
    }
    match methods.as_slice() {
        [] => TestMethod::Satterthwaite.describe().to_string(),
        [one] => one.describe().to_string(),
        _ => methods
            .iter()
            .map(|m| {
                let rows: Vec<&str> = t
                    .rows
                    .iter()
                    .filter(|l| l.method == *m)
                    .map(|l| l.label.as_str())
                    .collect();
                format!("{} for {}", m.describe(), rows.join(", "))
            })
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// The Markdown of a `table`, which `run` also prints.
pub fn model_table(t: &ModelTable) -> String {
    markdown(&model_layout(t))
}

/// A layout as Markdown: a heading, the table, and each footnote as a paragraph.
pub fn markdown(l: &Layout) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "## {}\n", l.title);
    table(&mut s, &l.rows, &l.right);
    for note in &l.notes {
        let _ = writeln!(s, "{note}\n");
    }
    s
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Markdown inline text as HTML: escaped, with `code` spans.
fn html_inline(text: &str) -> String {
    html_escape(text)
        .split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                format!("<code>{part}</code>")
            } else {
                part.to_string()
            }
        })
        .collect()
}

/// A layout as a standalone HTML page in the style of a journal's tables (rules above and
/// below the header and at the end, no vertical lines, Times): Word opens the file as a
/// document, and the table pasted from a browser keeps its layout.
pub fn html(l: &Layout) -> String {
    let mut s = String::new();
    let title = html_escape(&l.title);
    let _ = writeln!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{title}</title>\n\
         <style>\n\
         body {{ font-family: \"Times New Roman\", Times, serif; font-size: 11pt; }}\n\
         table {{ border-collapse: collapse; }}\n\
         th, td {{ padding: 2pt 8pt; vertical-align: top; }}\n\
         thead th {{ border-top: 1.5pt solid black; border-bottom: 0.75pt solid black; font-weight: normal; }}\n\
         tbody tr:last-child td {{ border-bottom: 1.5pt solid black; }}\n\
         .right {{ text-align: right; }}\n\
         .left {{ text-align: left; }}\n\
         p.note {{ max-width: 60em; font-size: 10pt; }}\n\
         </style>\n</head>\n<body>\n<h2>{title}</h2>\n<table>"
    );
    let align = |j: usize| {
        if l.right.get(j).copied().unwrap_or(false) {
            "right"
        } else {
            "left"
        }
    };
    let _ = writeln!(s, "<thead><tr>");
    for (j, cell) in l.rows[0].iter().enumerate() {
        let _ = writeln!(s, "<th class=\"{}\">{}</th>", align(j), html_escape(cell));
    }
    let _ = writeln!(s, "</tr></thead>\n<tbody>");
    for row in &l.rows[1..] {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(j, cell)| format!("<td class=\"{}\">{}</td>", align(j), html_escape(cell)))
            .collect();
        let _ = writeln!(s, "<tr>{}</tr>", cells.join(""));
    }
    let _ = writeln!(s, "</tbody>\n</table>");
    for note in &l.notes {
        let _ = writeln!(
            s,
            "<p class=\"note\"><i>Note.</i> {}</p>",
            html_inline(note)
        );
    }
    s.push_str("</body>\n</html>\n");
    s
}

/// Every number of a `table`, one row per coefficient shown.
pub fn model_table_csv(t: &ModelTable) -> String {
    let header = [
        "table",
        "label",
        "model",
        "reference",
        "term",
        "part",
        "coefficient",
        "estimate",
        "std_error",
        "df",
        "p",
        "explained_intercept",
        "explained_slope",
        "aic",
        "n_obs",
        "n_subjects",
        "reference_refitted",
        "reference_n_obs",
        "reference_aic",
        "delta_aic",
        "df_method",
    ];
    let mut rows = Vec::new();
    for line in &t.rows {
        let reference = line.reference_fit.as_ref();
        for e in &line.effects {
            for (part, c) in [("intercept", &e.intercept), ("slope", &e.slope)] {
                let Some(c) = c else { continue };
                let opt = |v: Option<f64>| v.map_or("NA".into(), cell);
                rows.push(vec![
                    t.name.clone(),
                    line.label.clone(),
                    line.model.clone(),
                    line.reference.clone().unwrap_or_default(),
                    e.term.clone().unwrap_or_default(),
                    part.to_string(),
                    c.name.clone(),
                    cell(c.estimate),
                    cell(c.std_error),
                    cell(c.df),
                    cell(c.p),
                    opt(line.explained_intercept),
                    opt(line.explained_slope),
                    cell(line.aic),
                    line.n_obs.to_string(),
                    line.n_subjects.to_string(),
                    reference.map_or("NA".into(), |r| {
                        if r.refitted { "TRUE" } else { "FALSE" }.into()
                    }),
                    reference.map_or("NA".into(), |r| r.n_obs.to_string()),
                    reference.map_or("NA".into(), |r| cell(r.aic)),
                    reference.map_or("NA".into(), |r| cell(line.aic - r.aic)),
                    match line.method {
                        TestMethod::Satterthwaite => "satterthwaite",
                        TestMethod::KenwardRoger => "kenward_roger",
                        TestMethod::Residual => "residual",
                    }
                    .to_string(),
                ]);
            }
        }
    }
    write(&header, rows)
}

fn p_starred(p: f64) -> String {
    format!("{}{}", p_paper(p), if p < 0.05 { "*" } else { "" })
}

/// The layout of a `describe`.
pub fn descriptives_layout(d: &Descriptives) -> Layout {
    let mut rows = vec![vec![
        "Characteristic".to_string(),
        format!("{} (n = {})", d.headers[0], d.n[0]),
        format!("{} (n = {})", d.headers[1], d.n[1]),
        "Test".to_string(),
        "p".to_string(),
    ]];
    for v in &d.rows {
        let label = if v.n == d.n {
            v.label.clone()
        } else {
            format!("{} (n = {}, {})", v.label, v.n[0], v.n[1])
        };
        let (a, b, test) = match &v.summary {
            Summary::Mean {
                mean, sd, student, ..
            } => (
                format!("{:.1} ({:.1})", mean[0], sd[0]),
                format!("{:.1} ({:.1})", mean[1], sd[1]),
                format!("t({:.0}) = {:.2}", student.df, student.t),
            ),
            Summary::Percent {
                percent,
                chi_square,
                ..
            } => (
                format!("{:.0}%", percent[0]),
                format!("{:.0}%", percent[1]),
                format!("χ²(1) = {chi_square:.2}"),
            ),
        };
        rows.push(vec![label, a, b, test, p_starred(v.p())]);
    }
    Layout {
        title: d.name.clone(),
        rows,
        right: vec![false, true, true, true, true],
        notes: vec![
            "One value per subject (its first non-missing value). Mean (SD): independent-samples \
             t-test, equal variances assumed (Student; Welch's test in the CSV). %: share of 1s, \
             Pearson χ² without continuity correction. * p < .05."
                .to_string(),
        ],
    }
}

/// The Markdown of a `describe`, which `run` also prints.
pub fn descriptives(d: &Descriptives) -> String {
    markdown(&descriptives_layout(d))
}

/// Every number of a `describe`, one row per variable.
pub fn descriptives_csv(d: &Descriptives) -> String {
    let header = [
        "table",
        "variable",
        "label",
        "summary",
        "group1",
        "group2",
        "n1",
        "n2",
        "mean1",
        "sd1",
        "mean2",
        "sd2",
        "count1",
        "count2",
        "percent1",
        "percent2",
        "test",
        "statistic",
        "df",
        "p",
        "welch_t",
        "welch_df",
        "welch_p",
    ];
    let na = || "NA".to_string();
    let rows = d.rows.iter().map(|v| {
        let mut row = vec![
            d.name.clone(),
            v.variable.clone(),
            v.label.clone(),
            String::new(),
            d.groups[0].clone(),
            d.groups[1].clone(),
            v.n[0].to_string(),
            v.n[1].to_string(),
        ];
        match &v.summary {
            Summary::Mean {
                mean,
                sd,
                student,
                welch,
            } => {
                row[3] = "mean".into();
                row.extend([
                    cell(mean[0]),
                    cell(sd[0]),
                    cell(mean[1]),
                    cell(sd[1]),
                    na(),
                    na(),
                    na(),
                    na(),
                    "student_t".into(),
                    cell(student.t),
                    cell(student.df),
                    cell(student.p),
                    cell(welch.t),
                    cell(welch.df),
                    cell(welch.p),
                ]);
            }
            Summary::Percent {
                count,
                percent,
                chi_square,
                p,
            } => {
                row[3] = "percent".into();
                row.extend([
                    na(),
                    na(),
                    na(),
                    na(),
                    count[0].to_string(),
                    count[1].to_string(),
                    cell(percent[0]),
                    cell(percent[1]),
                    "pearson_chisq".into(),
                    cell(*chi_square),
                    "1".into(),
                    cell(*p),
                    na(),
                    na(),
                    na(),
                ]);
            }
        }
        row
    });
    write(&header, rows)
}
