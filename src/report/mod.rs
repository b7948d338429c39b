//! The files `mixspec run` writes: per report a Markdown document, CSV tables (long format,
//! one per kind of table, for R or a spreadsheet) and a JSON document; per plot an SVG, and
//! with the default `png-pdf` feature the same figure as PNG and PDF.

mod csv;
pub mod figure;
pub mod format;
pub mod generalized;
mod json;
mod markdown;
mod power;
pub mod tables;
pub(crate) mod write;

pub use write::{write_all, write_file};

use mixspec_analysis::{
    Checked, Comparison, ExplainedVariance, FittedModel, PowerCurve, Results, Trajectories,
};
use mixspec_dsl::spec::{figure_options, FigureOptions, ModelDef, Plot};

/// One file to write: its name inside the output folder and its contents.
pub struct File {
    pub name: String,
    pub contents: Vec<u8>,
}

/// What one report shows: its models, and the comparisons, explained-variance tables and
/// plots that involve only those models.
pub struct Report<'a> {
    pub name: String,
    pub checked: &'a Checked,
    pub models: Vec<(&'a ModelDef, &'a FittedModel)>,
    /// With the names of their models, in the order written.
    pub comparisons: Vec<(Vec<&'a str>, &'a Comparison)>,
    pub explained: Vec<&'a ExplainedVariance>,
    /// With the file each is drawn in; one panel per model.
    pub plots: Vec<(String, &'a [Trajectories])>,
    /// Every power curve of the spec.
    pub powers: &'a [PowerCurve],
}

/// The file a plot is drawn in.
pub fn plot_file(plot: &Plot) -> String {
    format!("{}.svg", plot.file_stem())
}

/// Every file of a run: the reports the spec asks for (or one of all models, named after
/// the spec file, when it asks for none and has no table), the comparisons and explained
/// variances no report covers (as CSV, named after the spec file), the tables and
/// descriptions (Markdown, HTML and CSV) and the plots (SVG, and PNG and PDF with the
/// `png-pdf` feature).
pub fn files(
    checked: &Checked,
    results: &Results,
    default_name: &str,
) -> miette::Result<Vec<File>> {
    let spec = &checked.spec;
    let requested: Vec<(String, Vec<&str>)> =
        if spec.reports.is_empty() && spec.tables.is_empty() && spec.describes.is_empty() {
            vec![(
                default_name.to_string(),
                spec.models.iter().map(|m| m.name.text.as_str()).collect(),
            )]
        } else {
            spec.reports
                .iter()
                .map(|r| {
                    (
                        r.name.text.clone(),
                        r.models.iter().map(|m| m.text.as_str()).collect(),
                    )
                })
                .collect()
        };
    let mut out = Vec::new();
    // Comparisons and explained variances no report covers still go into files: results
    // the spec asked for are never computed only to be dropped.
    let mut leftover = select(checked, results, default_name.to_string(), &[]);
    leftover.comparisons = comparisons(spec, results);
    leftover.explained = results.explained.iter().flatten().collect();
    for (_, models) in &requested {
        let report = select(checked, results, String::new(), models);
        leftover
            .comparisons
            .retain(|(_, c)| !report.comparisons.iter().any(|(_, r)| std::ptr::eq(*r, *c)));
        leftover
            .explained
            .retain(|e| !report.explained.iter().any(|r| std::ptr::eq(*r, *e)));
    }
    if requested.iter().any(|(name, _)| name == default_name) {
        leftover.name = format!("{default_name}-other");
    }
    out.extend(csv::comparison_tables(&leftover));
    for (name, models) in requested {
        let report = select(checked, results, name, &models);
        out.push(File {
            name: format!("{}.md", report.name),
            contents: markdown::report(&report).into(),
        });
        out.push(File {
            name: format!("{}.json", report.name),
            contents: json::report(&report).into(),
        });
        // Without models (a spec of power designs) there are no model tables to write.
        if !report.models.is_empty() {
            out.extend(csv::tables(&report));
        }
    }
    // The article-style tables and descriptions: each as Markdown, HTML and CSV.
    let article = results
        .tables
        .iter()
        .map(|t| (&t.name, tables::model_layout(t), tables::model_table_csv(t)))
        .chain(results.ratio_tables.iter().map(|t| {
            (
                &t.name,
                generalized::ratio_layout(t),
                generalized::ratio_table_csv(t),
            )
        }))
        .chain(results.descriptives.iter().map(|d| {
            (
                &d.name,
                tables::descriptives_layout(d),
                tables::descriptives_csv(d),
            )
        }));
    for (name, layout, csv) in article {
        out.push(File {
            name: format!("{name}.md"),
            contents: tables::markdown(&layout).into(),
        });
        out.push(File {
            name: format!("{name}.html"),
            contents: tables::html(&layout).into(),
        });
        out.push(File {
            name: format!("{name}.csv"),
            contents: csv.into(),
        });
    }
    for curve in &results.powers {
        out.push(File {
            name: power::csv_file(curve),
            contents: power::csv(curve).into(),
        });
        let stem = power::figure_stem(curve);
        let options = FigureOptions::default();
        figure_files(
            &mut out,
            &stem,
            figure::power_curve(curve, &options),
            &options,
        )?;
    }
    for (plot, panels) in spec.plots.iter().zip(&results.trajectories) {
        let options = figure_options(&plot.options).expect("plot options are checked");
        let svg = figure::trajectories(panels, &options);
        figure_files(&mut out, &plot.file_stem(), svg, &options)?;
    }
    Ok(out)
}

/// A figure's files: `STEM.svg`, and `STEM.png` and `STEM.pdf` drawn from it.
fn figure_files(
    out: &mut Vec<File>,
    stem: &str,
    svg: String,
    options: &FigureOptions,
) -> miette::Result<()> {
    let others = figure::export::export(&svg, options.dpi)
        .map_err(|e| miette::miette!("cannot draw the figure {stem}: {e}"))?;
    out.push(File {
        name: format!("{stem}.svg"),
        contents: svg.into(),
    });
    for (extension, contents) in figure::export::FORMATS.iter().zip(others) {
        out.push(File {
            name: format!("{stem}.{extension}"),
            contents,
        });
    }
    Ok(())
}

/// Every comparison with the names of its models.
fn comparisons<'a>(
    spec: &'a mixspec_dsl::spec::Spec,
    results: &'a Results,
) -> Vec<(Vec<&'a str>, &'a Comparison)> {
    spec.comparisons
        .iter()
        .zip(&results.comparisons)
        .map(|(c, table)| (c.models.iter().map(|m| m.text.as_str()).collect(), table))
        .collect()
}

fn select<'a>(
    checked: &'a Checked,
    results: &'a Results,
    name: String,
    models: &[&str],
) -> Report<'a> {
    let spec = &checked.spec;
    let included = |m: &str| models.contains(&m);
    let by_name = |m: &str| {
        let i = spec
            .models
            .iter()
            .position(|d| d.name.text == m)
            .expect("reports list defined models");
        (&spec.models[i], &results.fits[i])
    };
    Report {
        name,
        checked,
        models: models.iter().map(|m| by_name(m)).collect(),
        comparisons: comparisons(spec, results)
            .into_iter()
            .filter(|(names, _)| names.iter().all(|m| included(m)))
            .collect(),
        explained: results
            .explained
            .iter()
            .flatten()
            .filter(|e| included(&e.model) && included(&e.reference))
            .collect(),
        plots: spec
            .plots
            .iter()
            .zip(&results.trajectories)
            .filter(|(p, _)| p.models.iter().all(|m| included(&m.text)))
            .map(|(p, t)| (plot_file(p), t.as_slice()))
            .collect(),
        powers: &results.powers,
    }
}
