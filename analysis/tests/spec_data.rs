//! Specs against real data: the checks that need the data (reported with everything else in
//! one report), the prepared variables, instrument scoring, and the numbers of a run.

use std::path::{Path, PathBuf};

use mixspec_analysis::{check, Basis, Checked, Plugins};
use mixspec_dsl::spec::SpecErrorKind;
use mixspec_engine::inference::chi_square_upper_tail;
use mixspec_engine::Column;

/// The folder specs in these tests are "in": paths in them start here.
fn base() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

fn checked(src: &str) -> Checked {
    let plugins = Plugins::bundled().unwrap();
    check("test.spec", src, &base(), &plugins).unwrap_or_else(|e| panic!("{}", e.render_plain()))
}

fn problems(src: &str) -> (Vec<SpecErrorKind>, String) {
    let plugins = Plugins::bundled().unwrap();
    match check("test.spec", src, &base(), &plugins) {
        Ok(_) => (Vec::new(), String::new()),
        Err(e) => (
            e.problems().iter().map(|p| p.kind()).collect(),
            e.render_plain(),
        ),
    }
}

fn numbers<'a>(c: &'a Checked, name: &str) -> &'a [f64] {
    match c.data.column(name) {
        Some(Column::Numeric(v)) => v,
        other => panic!("{name}: {other:?}"),
    }
}

fn labels(c: &Checked, name: &str) -> (Vec<String>, Vec<Option<String>>) {
    match c.data.column(name) {
        Some(Column::Factor(f)) => (
            f.levels.clone(),
            f.codes
                .iter()
                .map(|&k| f.levels.get(k as usize).cloned())
                .collect(),
        ),
        other => panic!("{name}: {other:?}"),
    }
}

const ORTHODONT: &str =
    "data \"../../tests/data/reference/orthodont.csv\" { subject Subject; time age }\n";

#[test]
fn every_data_problem_is_reported_together() {
    let src = format!(
        "{ORTHODONT}instrument \"wai-x\"
derive older = Sex + 1
model a: distanse ~ age + (age | Subject)
model b: distance ~ I(Sex^2) + (1 | Subject)
model c: distance ~ age + (1 | Subject) where Sex == \"female\"
model d: distance ~ age + (1 | Subject) where age > 20
plot trajectories d by sexx
"
    );
    let (kinds, rendered) = problems(&src);
    assert_eq!(
        kinds,
        [
            SpecErrorKind::UnknownInstrument,
            SpecErrorKind::Type,
            SpecErrorKind::UnknownVariable,
            SpecErrorKind::Type,
            SpecErrorKind::UnknownLevel,
            SpecErrorKind::NoRows,
            SpecErrorKind::UnknownVariable,
        ]
    );
    insta::assert_snapshot!(rendered);
}

#[test]
fn an_unreadable_data_file_is_pointed_at() {
    let (kinds, rendered) =
        problems("data \"no/such.csv\" { subject g }\nmodel m: y ~ x + (1 | g)\ncompare m, n\n");
    // The unknown model is found without the data, and reported with it.
    assert_eq!(
        kinds,
        [SpecErrorKind::DataFile, SpecErrorKind::UnknownModel]
    );
    assert!(rendered.contains("[test.spec:1:6]"), "{rendered}");
    assert!(rendered.contains("no/such.csv"), "{rendered}");
}

#[test]
fn derived_variables_and_per_subject_aggregates() {
    let c = checked(
        "data \"data/wai.csv\" { subject patient; time months }
derive first_gaf = first(gaf)
derive last_gaf = last(gaf)
derive n = count(gaf)
derive mean_gaf = mean(gaf)
derive range = max(gaf) - min(gaf)
derive total = sum(gaf)
derive outcome = if last(gaf) >= 60 then \"good\" else \"poor\"
derive late = months > 9 and not missing(gaf)
derive early_sr = version == \"SR\" or months <= 3
factor outcome levels \"poor\", \"good\" reference \"good\"
numeric gaf
",
    );
    // p1 has GAF 48, 54, 56, 54 at months 3, 9, 15, 21.
    assert_eq!(numbers(&c, "first_gaf")[3], 48.0);
    assert_eq!(numbers(&c, "last_gaf")[0], 54.0);
    assert_eq!(numbers(&c, "n")[2], 4.0);
    assert_eq!(
        numbers(&c, "mean_gaf")[1],
        (48.0 + 54.0 + 56.0 + 54.0) / 4.0
    );
    assert_eq!(numbers(&c, "range")[0], 8.0);
    assert_eq!(numbers(&c, "total")[0], 212.0);
    assert_eq!(&numbers(&c, "late")[..4], &[0.0, 0.0, 1.0, 1.0]);
    assert_eq!(&numbers(&c, "early_sr")[..4], &[1.0, 0.0, 1.0, 1.0]);
    let (levels, values) = labels(&c, "outcome");
    assert_eq!(levels, ["good", "poor"]);
    assert_eq!(values[0].as_deref(), Some("poor"));
}

#[test]
fn instruments_score_the_rows_their_condition_selects() {
    let c = checked(
        "data \"data/wai.csv\" { subject patient; time months }
instrument \"wai-s\" when version == \"S\"
instrument \"wai-sr\" when version == \"SR\"
",
    );
    let tasks = numbers(&c, "TASKS");
    let goals = numbers(&c, "GOALS");
    // Row 1 (WAI-S): tasks = items 1, 2, 8, 12 = 5, 4, 5, 4; goals = items 4, 6, 10, 11
    // with 4 and 10 reversed (8 − x): 5, 7, 5, 7.
    assert_eq!(tasks[0], 4.5);
    assert_eq!(goals[0], 6.0);
    // Row 3 (WAI-SR, no reversed items): tasks = items 1, 2, 10, 12 = 3, 7, 5, 4.
    assert_eq!(tasks[2], 4.75);
}

#[test]
fn instrument_problems_name_the_instrument() {
    let (kinds, rendered) = problems(
        "data \"data/wai.csv\" { subject patient; time months }
instrument \"wai-s\" when version == \"s\"
instrument \"gaf\" when months > 100
instrument \"bsi-18\"
",
    );
    assert_eq!(
        kinds,
        [
            SpecErrorKind::UnknownLevel,
            SpecErrorKind::NoRows,
            SpecErrorKind::Instrument
        ]
    );
    assert!(rendered.contains("did you mean \"S\"?"), "{rendered}");
    assert!(rendered.contains("bsi1"), "{rendered}");
}

#[test]
fn factor_declarations_must_match_the_data() {
    let (kinds, rendered) = problems(&format!(
        "{ORTHODONT}factor Sex levels \"Female\" reference \"Female\"\nfactor Subject reference \"X99\"\nnumeric Sex\n"
    ));
    assert_eq!(
        kinds,
        [
            SpecErrorKind::UnknownLevel,
            SpecErrorKind::UnknownLevel,
            SpecErrorKind::Type
        ]
    );
    assert!(rendered.contains("`Male`"), "{rendered}");
}

const SLEEP: &str =
    "data \"../../tests/data/reference/sleepstudy.csv\" { subject Subject; time Days }\n";

#[test]
fn comparisons_refit_by_ml_when_the_fixed_effects_differ() {
    let c = checked(&format!(
        "{SLEEP}model slope: Reaction ~ Days + (Days | Subject)
model quadratic: Reaction ~ Days + I(Days^2) + (Days | Subject)
model intercept: Reaction ~ Days + (1 | Subject)
compare quadratic, slope
compare intercept, slope
explained quadratic vs slope
"
    ));
    let results = c.run().unwrap();
    let ml = &results.comparisons[0];
    assert_eq!(ml.basis, Basis::RefittedMl);
    // Ordered by parameters, as anova(): slope (6) before quadratic (7).
    assert_eq!(ml.rows[0].model, "slope");
    // lme4: logLik(lmer(Reaction ~ Days + (Days | Subject), sleepstudy, REML = FALSE))
    assert!((ml.rows[0].loglik - -875.969672).abs() < 1e-4);
    let test = ml.rows[1].test.unwrap();
    assert_eq!(test.df, 1);
    let chi = 2.0 * (ml.rows[1].loglik - ml.rows[0].loglik);
    assert!((test.chi_square - chi).abs() < 1e-12);
    assert_eq!(test.p, chi_square_upper_tail(chi, 1.0));
    // The REML fits themselves are left as they are.
    assert!(results.fits[0].fit.linear().unwrap().reml);

    let reml = &results.comparisons[1];
    assert_eq!(reml.basis, Basis::Reml);
    assert_eq!(reml.rows[1].test.unwrap().df, 2);

    let e = &results.explained[0][0];
    let slope = results.fits[0].fit.varcorr();
    let quadratic = results.fits[1].fit.varcorr();
    let row = &e.rows[0];
    assert_eq!(
        (row.group.as_str(), row.effect.as_str()),
        ("Subject", "(Intercept)")
    );
    let expected = 100.0 * (slope[0].vcov - quadratic[0].vcov) / slope[0].vcov;
    assert!((row.percent.unwrap() - expected).abs() < 1e-12);
    assert_eq!(e.rows.last().unwrap().group, "Residual");
}

#[test]
fn comparisons_need_the_same_observations() {
    // `n` is missing on the first row, so the second model drops it and the first does not.
    let plugins = Plugins::bundled().unwrap();
    let c = check(
        "test.spec",
        "data \"data/wai.csv\" { subject patient; time months }
derive n = if months == 3 and patient == \"p1\" then gaf / 0 - gaf / 0 else months * months
model a: gaf ~ months + (1 | patient) [method ML]
model b: gaf ~ months + n + (1 | patient) [method ML]
compare a, b
",
        &base(),
        &plugins,
    );
    // Found by the check, before anything is fitted: the rows with every variable are known.
    let Err(e) = c else {
        panic!("check passed models on different observations")
    };
    assert_eq!(e.problems()[0].kind(), SpecErrorKind::Comparison);
    assert!(
        e.problems()[0].message().contains("20 observations"),
        "{}",
        e.render_plain()
    );
}

#[test]
fn trajectories_average_the_fixed_part_per_group_over_time() {
    let c = checked(&format!(
        "{ORTHODONT}model by_sex: distance ~ age * Sex + (age | Subject)\nplot trajectories by_sex by Sex\n"
    ));
    let results = c.run().unwrap();
    let t = &results.trajectories[0][0];
    assert_eq!(t.groups.len(), 2);
    let fit = results.fits[0].fit.linear().unwrap();
    let beta = |name: &str| fit.beta[fit.fixed_names.iter().position(|n| n == name).unwrap()];
    // Girls (the reference level): intercept + age slope; boys add their differences.
    for (g, male) in t.groups.iter().zip([0.0, 1.0]) {
        for point in &g.predicted {
            let (age, predicted) = (point.time, point.mean);
            let line = beta("(Intercept)")
                + male * beta("SexMale")
                + age * (beta("age") + male * beta("age:SexMale"));
            assert!(
                (predicted - line).abs() < 1e-9,
                "{}: {predicted} vs {line}",
                g.label
            );
            // The band: x'Var(β̂)x for x = (1, age, male, age·male), ± 1.96 SE.
            let x = [1.0, age, male, age * male];
            let order = ["(Intercept)", "age", "SexMale", "age:SexMale"]
                .map(|n| fit.fixed_names.iter().position(|f| f == n).unwrap());
            let p = fit.beta.len();
            let variance: f64 = (0..4)
                .flat_map(|a| (0..4).map(move |b| (a, b)))
                .map(|(a, b)| x[a] * x[b] * fit.vcov[order[a] * p + order[b]])
                .sum();
            assert!((point.std_error - variance.sqrt()).abs() < 1e-9);
            assert!((point.upper - (line + 1.959964 * variance.sqrt())).abs() < 1e-5);
            assert!((point.lower - (line - 1.959964 * variance.sqrt())).abs() < 1e-5);
        }
        // Observed means at the four ages.
        assert_eq!(g.observed.len(), 4);
    }
    assert_eq!(t.groups[1].observed.iter().map(|o| o.n).sum::<usize>(), 64);
}

#[test]
fn figures_have_a_panel_per_model_and_groups_per_combination() {
    let c = checked(&format!(
        "{ORTHODONT}derive half = if age >= 11 then \"late\" else \"early\"\nmodel growth: distance ~ age + (age | Subject)\nmodel by_sex: distance ~ age * Sex + (age | Subject)\nplot trajectories growth, by_sex by Sex, half as \"fig\"\n"
    ));
    let results = c.run().unwrap();
    let panels = &results.trajectories[0];
    assert_eq!(panels.len(), 2);
    assert_eq!(panels[0].model, "growth");
    assert_eq!(panels[1].by.as_deref(), Some("Sex × half"));
    let labels: Vec<&str> = panels[1].groups.iter().map(|g| g.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "Female × early",
            "Female × late",
            "Male × early",
            "Male × late"
        ]
    );
    // Each cell's observed means are at its own ages only.
    for g in &panels[1].groups {
        let late = g.label.ends_with("late");
        assert!(
            g.observed.iter().all(|o| (o.time >= 11.0) == late),
            "{}",
            g.label
        );
    }
}

/// Issue 18: a derived variable can be the time axis, trajectories through `poly()` are
/// predicted with the fit's own polynomial basis, and whole-column functions centre and scale.
#[test]
fn a_derived_variable_is_the_time_axis() {
    let data =
        "data \"../../tests/data/reference/orthodont.csv\" { subject Subject; time decades }\n";
    let c = checked(&format!(
        "{data}derive decades = age / 10
derive start = first(distance)
derive age_mean = grand_mean(age)
derive age_c = center(age)
derive age_z = scale(age)
model poly: distance ~ poly(decades, 2) * Sex + (1 | Subject)
model raw: distance ~ (decades + I(decades^2)) * Sex + (1 | Subject)
plot trajectories poly, raw by Sex
"
    ));
    // Orthodont: ages 8, 10, 12, 14 for every subject, in that order.
    assert_eq!(numbers(&c, "start")[1], numbers(&c, "start")[0]);
    assert!(numbers(&c, "age_mean").iter().all(|&m| m == 11.0));
    assert_eq!(&numbers(&c, "age_c")[..4], &[-3.0, -1.0, 1.0, 3.0]);
    let z = numbers(&c, "age_z");
    let sd = (z.iter().map(|v| v * v).sum::<f64>() / (z.len() - 1) as f64).sqrt();
    assert!(z.iter().sum::<f64>().abs() < 1e-9 && (sd - 1.0).abs() < 1e-12);

    // The same model in two parametrisations: the same predicted trajectories.
    let results = c.run().unwrap();
    let (poly, raw) = (&results.trajectories[0][0], &results.trajectories[0][1]);
    for (p, r) in poly.groups.iter().zip(&raw.groups) {
        assert_eq!(p.predicted.len(), r.predicted.len());
        for (x, y) in p.predicted.iter().zip(&r.predicted) {
            let (t, a, u, b) = (x.time, x.mean, y.time, y.mean);
            assert_eq!(t, u);
            assert!((a - b).abs() < 1e-6, "{}: {a} vs {b} at {t}", p.label);
            // The same prediction has the same band in either parametrisation.
            assert!(
                (x.std_error - y.std_error).abs() < 1e-6,
                "{}: SE at {t}",
                p.label
            );
        }
    }

    // first() needs the time order, so the time must be derived before it is used.
    let (kinds, rendered) = problems(&format!(
        "{data}derive start = first(distance)\nderive decades = age / 10\n"
    ));
    assert_eq!(kinds, [SpecErrorKind::Type], "{rendered}");
    assert!(
        rendered.contains("derive `decades` above this statement"),
        "{rendered}"
    );
    // A time that is neither a column nor derived is still unknown.
    let (kinds, _) = problems(
        "data \"../../tests/data/reference/orthodont.csv\" { subject Subject; time decade }\n",
    );
    assert_eq!(kinds, [SpecErrorKind::UnknownVariable]);
}

#[test]
fn labels_apply_to_figures_and_are_checked_against_the_data() {
    let c = checked(&format!(
        "{ORTHODONT}label age \"Age (years)\"\nlabel distance \"Distance (mm)\"\nlabel Sex \"Sex\" levels \"Female\" = \"Girls\", \"Male\" = \"Boys\"\nlabel by_sex \"Growth by sex\"\nmodel by_sex: distance ~ age * Sex + (age | Subject)\nplot trajectories by_sex by Sex\n"
    ));
    let results = c.run().unwrap();
    let t = &results.trajectories[0][0];
    assert_eq!(t.title, "Growth by sex");
    assert_eq!(t.response, "Distance (mm)");
    assert_eq!(t.time, "Age (years)");
    assert_eq!(t.by.as_deref(), Some("Sex"));
    let groups: Vec<&str> = t.groups.iter().map(|g| g.label.as_str()).collect();
    assert_eq!(groups, ["Girls", "Boys"]);

    let (kinds, rendered) = problems(&format!(
        "{ORTHODONT}model g: distance ~ age + (age | Subject)\nlabel Sexx \"Sex\"\nlabel Sex \"Sex\" levels \"Femal\" = \"Girls\"\nlabel g \"Growth\"\n"
    ));
    assert_eq!(
        kinds,
        [SpecErrorKind::UnknownVariable, SpecErrorKind::UnknownLevel],
        "{rendered}"
    );
    assert!(
        rendered.contains("`Sexx` is labelled but is neither a variable nor a model")
            && rendered.contains("did you mean `Sex`?")
            && rendered.contains("`Sex` has no value `Femal`"),
        "{rendered}"
    );
}
