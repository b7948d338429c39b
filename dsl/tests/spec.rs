//! The `.spec` language without data: what each statement parses to, and the diagnostics of
//! mistakes, as a user sees them (snapshots of the rendered reports).

use mixspec_dsl::spec::ast::{Aggregate, BinaryOp, ExprKind, Function};
use mixspec_dsl::spec::{parse_spec, Prepare, Spec, SpecErrorKind};
use mixspec_dsl::{parse_formula, FormulaErrorKind};

/// The spec and its problems rendered as the CLI shows them, without colours.
fn check(src: &str) -> (Spec, String) {
    let (spec, d) = parse_spec(src);
    let rendered = match d.finish("example.spec", src) {
        Ok(()) => String::new(),
        Err(e) => e.render_plain(),
    };
    (spec, rendered)
}

fn kinds(src: &str) -> Vec<SpecErrorKind> {
    let (_, d) = parse_spec(src);
    match d.finish("t.spec", src) {
        Ok(()) => Vec::new(),
        Err(e) => e.problems().iter().map(|p| p.kind()).collect(),
    }
}

/// The sketch of the issue that introduced the language, with ML throughout so that
/// explained variance compares like with like.
const SKETCH: &str = r#"data "../data/mbt_cohort.csv" { subject patient; time months }
instrument "wai-s" when version == "S"
instrument "wai-sr" when version == "SR"
derive outcome = if last(gaf) >= 60 then "good" else "poor"   # per-subject aggregate
derive n_wai = count(TASKS)
model linear: TASKS ~ months + (months | patient)  [method ML]
model by_outcome: TASKS ~ months * outcome + (months | patient) [method ML]
model poor_only: TASKS ~ months + (months | patient) where outcome == "poor"
compare linear, by_outcome               # LRT chi-square, df, p; AIC and BIC differences
explained by_outcome vs linear           # % change of each variance component
report "table4" { linear, by_outcome }   # Markdown and CSV (and JSON)
plot trajectories by_outcome by outcome  # SVG
"#;

#[test]
fn the_sketch_parses_into_its_statements() {
    let (spec, problems) = check(SKETCH);
    assert_eq!(problems, "");
    let data = spec.data.as_ref().unwrap();
    assert_eq!(data.path.text, "../data/mbt_cohort.csv");
    assert_eq!(data.subject.as_ref().unwrap().text, "patient");
    assert_eq!(data.time.as_ref().unwrap().text, "months");
    assert_eq!(spec.steps.len(), 4);
    let Prepare::Derive { name, expr } = &spec.steps[2] else {
        panic!("third step is a derive");
    };
    assert_eq!(name.text, "outcome");
    let ExprKind::If { condition, .. } = &expr.kind else {
        panic!("an if expression");
    };
    let ExprKind::Binary(BinaryOp::Ge, last, _) = &condition.kind else {
        panic!("a comparison");
    };
    assert!(matches!(
        last.kind,
        ExprKind::Call {
            function: Function::Aggregate(Aggregate::Last),
            ..
        }
    ));
    let names: Vec<&str> = spec.models.iter().map(|m| m.name.text.as_str()).collect();
    assert_eq!(names, ["linear", "by_outcome", "poor_only"]);
    assert!(!spec.models[0].reml && spec.models[2].reml);
    assert!(spec.models[2].filter.is_some());
    assert_eq!(spec.comparisons.len(), 1);
    assert_eq!(spec.explained[0].reference.text, "linear");
    assert_eq!(spec.reports[0].name.text, "table4");
    assert_eq!(spec.plots[0].by[0].text, "outcome");
    // Every span points at the text it stands for.
    let m = &spec.models[1];
    assert_eq!(&SKETCH[m.name.span.start..m.name.span.end], "by_outcome");
    assert_eq!(
        &SKETCH[m.formula.span.start..m.formula.span.end],
        "TASKS ~ months * outcome + (months | patient)"
    );
}

#[test]
fn model_formulas_lower_exactly_as_the_formula_parser() {
    let src = "data \"d.csv\"\nmodel m: y ~ a*b + I(x^2) +\n   (1 + a || g/h) [covariance diag]\n";
    let (spec, problems) = check(src);
    assert_eq!(problems, "");
    let mut expected = parse_formula("y ~ a*b + I(x^2) + (1 + a || g/h)").unwrap();
    expected
        .random
        .iter_mut()
        .for_each(|r| r.covariance = mixspec_engine::spec::CovarianceType::Diagonal);
    assert_eq!(spec.models[0].spec, expected);
    let numeric: Vec<(&str, bool)> = spec.models[0]
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.numeric))
        .collect();
    assert_eq!(
        numeric,
        [
            ("y", true),
            ("a", false),
            ("b", false),
            ("x", true),
            ("a", false),
            ("g", false),
            ("h", false)
        ]
    );
}

#[test]
fn options_set_method_covariance_and_residual_structure() {
    let src = "data \"d.csv\"\nmodel m: y ~ t + (1 | g) [method ML, residual \"car1(t | g)\", covariance cs]\n";
    let (spec, problems) = check(src);
    assert_eq!(problems, "");
    let m = &spec.models[0];
    assert!(!m.reml);
    assert_eq!(
        m.spec.residual,
        Some(mixspec_engine::spec::ResidualSpec::Car1 {
            time: "t".into(),
            group: "g".into()
        })
    );
    assert!(m.columns.iter().any(|c| c.name == "t"
        && c.numeric
        && &src[c.span.start..c.span.end] == "\"car1(t | g)\""));
}

#[test]
fn expressions_follow_r_precedence() {
    let src = "data \"d.csv\"\nderive x = not a == 1 and b > 2 or -c ^ 2 < 3 * d + 1\n";
    let (spec, problems) = check(src);
    assert_eq!(problems, "");
    let Prepare::Derive { expr, .. } = &spec.steps[0] else {
        panic!()
    };
    // ((not (a == 1)) and (b > 2)) or ((-(c^2)) < ((3*d) + 1))
    let ExprKind::Binary(BinaryOp::Or, left, right) = &expr.kind else {
        panic!("or at the top: {expr:?}")
    };
    let ExprKind::Binary(BinaryOp::And, not, _) = &left.kind else {
        panic!()
    };
    assert!(matches!(not.kind, ExprKind::Unary(..)));
    let ExprKind::Binary(BinaryOp::Lt, neg, sum) = &right.kind else {
        panic!()
    };
    assert!(
        matches!(&neg.kind, ExprKind::Unary(_, pow) if matches!(pow.kind, ExprKind::Binary(BinaryOp::Pow, ..)))
    );
    assert!(matches!(sum.kind, ExprKind::Binary(BinaryOp::Add, ..)));
}

#[test]
fn syntax_errors_are_all_reported_with_file_line_and_column() {
    let src = r#"data "sleep.csv" { subject Subject; time Days }
modle m0: Reaction ~ Days + (1 | Subject)
model m1: Reaction ~ Days + (Days | Subject) [method ML
derive z = (Days + 2
compare m1, m2 extra
"#;
    let (_, rendered) = check(src);
    insta::assert_snapshot!(rendered);
    assert!(rendered.contains("[example.spec:2:1]"), "{rendered}");
}

#[test]
fn names_settings_and_options_are_checked_with_suggestions() {
    let src = r#"data "sleep.csv" { subject Subject; tme Days }
derive x = lg(Days) + 1
derive y = last(Reaction)
model m1: Reaction ~ Days + (Days | Subject) [method MLE, covarance diag]
model m2: Reaction ~ Days + (Days | Subject)
model m2: Reaction ~ Days + (1 | Subject)
model m3: Reaction ~ Days
compare m1, m2x
explained m2 vs m2
report "a/b" { m2, m2 }
plot trajectorie m2
"#;
    let (_, rendered) = check(src);
    insta::assert_snapshot!(rendered);
}

#[test]
fn formula_errors_point_into_the_file() {
    let src = "data \"d.csv\"\n\nmodel m: y ~ x + (1 | )\nmodel n: y ~ lg(x) + (1 | g)\n";
    let (_, rendered) = check(src);
    insta::assert_snapshot!(rendered);
    assert_eq!(
        kinds(src),
        [
            SpecErrorKind::Formula(FormulaErrorKind::EmptyGrouping),
            SpecErrorKind::Formula(FormulaErrorKind::UnknownFunction)
        ]
    );
}

#[test]
fn comparisons_must_make_sense() {
    let src = r#"data "d.csv" { subject g }
model a: y ~ t + (t | g) [method ML]
model b: y ~ t + x + (t | g)
model c: y ~ t + (t | g) where x > 1
model d: y ~ t + (1 | h) [method ML]
compare a
compare a, c
explained b vs a
explained d vs a
"#;
    assert_eq!(
        kinds(src),
        [
            SpecErrorKind::Comparison,
            SpecErrorKind::Comparison,
            SpecErrorKind::Comparison,
            SpecErrorKind::Comparison
        ]
    );
    let (_, rendered) = check(src);
    insta::assert_snapshot!(rendered);
}

#[test]
fn aggregates_need_the_subject_and_time_of_the_data() {
    let src = "data \"d.csv\"\nderive a = mean(x)\nderive b = first(x)\nplot trajectories m\nmodel m: y ~ x + (1 | g)\n";
    assert_eq!(
        kinds(src),
        [
            SpecErrorKind::MissingSetting,
            SpecErrorKind::MissingSetting,
            SpecErrorKind::MissingSetting
        ]
    );
    let ok = "data \"d.csv\" { subject g; time x }\nderive a = mean(x)\nderive b = first(x)\n";
    assert_eq!(kinds(ok), []);
}

#[test]
fn a_spec_needs_exactly_one_data_statement() {
    assert_eq!(kinds("model m: y ~ x + (1 | g)\n"), [SpecErrorKind::Data]);
    assert_eq!(
        kinds("data \"a.csv\"\ndata \"b.csv\"\n"),
        [SpecErrorKind::Data]
    );
    // A data statement that does not parse is one problem, not two.
    assert_eq!(kinds("data a.csv\n"), [SpecErrorKind::Syntax]);
}

#[test]
fn statements_that_fail_do_not_cascade() {
    // The broken model and derive are reported once; their uses are not reported again.
    let src = "data \"d.csv\"\nmodel m: y ~ x + (1 | g) [method\nderive v = nope(x)\nmodel n: y ~ v + (1 | g)\ncompare m, n\nreport \"r\" { m }\n";
    assert_eq!(
        kinds(src),
        [SpecErrorKind::Syntax, SpecErrorKind::UnknownFunction]
    );
}

#[test]
fn comments_blank_lines_and_blocks_over_several_lines() {
    let src = "# analysis\n\ndata \"d.csv\" {   # the data\n  subject g\n  time t\n}\n\nmodel m: y ~ t +   \n  (t | g)   # random slopes\nreport \"r\" {\n  m,\n}\n";
    let (spec, problems) = check(src);
    assert_eq!(problems, "");
    assert_eq!(spec.models[0].spec.formula, "y ~ t + (t | g)");
    assert_eq!(spec.reports[0].models[0].text, "m");
}

#[test]
fn tables_descriptions_and_figures_parse() {
    let src = r#"data "d.csv" { subject g; time t }
model lin: y ~ t + (t | g) [method ML]
model by_x: y ~ t * x + (t | g) [method ML]
model by_z: y ~ t * z + (t | g) [method ML]
table "t4" {
  "Y": lin ref
  "Y + x": by_x; by_z
}
describe "t2" by x { age "Age (years)", female }
plot trajectories lin, by_x by x, z as "figure1"
derive m = if t == 0 then y else NA
"#;
    let (spec, problems) = check(src);
    assert_eq!(problems, "");
    let table = &spec.tables[0];
    assert_eq!(table.name.text, "t4");
    let rows: Vec<(Option<&str>, &str, bool)> = table
        .rows
        .iter()
        .map(|r| {
            (
                r.label.as_ref().map(|l| l.text.as_str()),
                r.model.text.as_str(),
                r.reference,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (Some("Y"), "lin", true),
            (Some("Y + x"), "by_x", false),
            (None, "by_z", false)
        ]
    );
    let d = &spec.describes[0];
    assert_eq!(d.by.text, "x");
    assert_eq!(d.items.len(), 2);
    assert_eq!(d.items[0].label.as_ref().unwrap().text, "Age (years)");
    assert!(d.items[1].label.is_none());
    let plot = &spec.plots[0];
    assert_eq!(plot.models.len(), 2);
    assert_eq!(plot.by.len(), 2);
    assert_eq!(plot.file_stem(), "figure1");
    let Prepare::Derive { expr, .. } = &spec.steps[0] else {
        panic!("a derive");
    };
    let ExprKind::If { otherwise, .. } = &expr.kind else {
        panic!("an if");
    };
    assert!(matches!(otherwise.kind, ExprKind::Number(v) if v.is_nan()));
}

#[test]
fn table_rows_must_extend_their_reference() {
    let src = r#"data "d.csv" { subject g; time t }
model lin: y ~ t + (t | g) [method ML]
model reml: y ~ t * x + (t | g)
model other: y ~ x + (t | g) [method ML]
model same: y ~ t + (t | g) [method ML]
model flat: y ~ x + (1 | g) [method ML]
table "a" { "first": same; "Y": lin ref; reml; other; same; lni }
table "b" { flat ref }
describe "a" by x { age }
"#;
    let (_, rendered) = check(src);
    insta::assert_snapshot!(rendered);
}

#[test]
fn power_designs_lower_to_groups_visits_and_covariance() {
    use mixspec_dsl::spec::{PowerSourceDef, PowerStatistic};
    // The issue's exact form, and a design with unequal groups, their own visits and dropout;
    // a spec of designs alone needs no data statement.
    let src = r#"power slope_difference: y ~ time * group + (time | id) [test "time:groupb", alpha 0.05, simulations 2000, seed 11] {
  subjects 40, 80, 120
  times 0, 1, 2, 3, 4
  groups group "a" 0.5, "b" 0.5
  fixed "(Intercept)" 0, "time" 0.5, "groupb" 0, "time:groupb" 0.25
  random id sd "(Intercept)" 1, "time" 0.3 cor 0
  residual sd 1
}
power arms: score ~ months * arm + (months | patient) [test "months:arm", statistic lrt, subjects 90, seed 2] {
  times months 0, 6, 12; times "c" 0, 12
  groups arm "a" 0.2, "b" 0.3, "c" 0.5
  fixed "(Intercept)" 0, "months" 0.1, "armb" 0, "armc" 0, "months:armb" 0.1, "months:armc" 0.1
  random patient sd "(Intercept)" 2, "months" 0.5 cor -0.5
  residual sd 1
  dropout 0.5 by end
  dropout "a" 0.1 per visit
  missed "b" 0.2
}
"#;
    let (spec, rendered) = check(src);
    assert_eq!(rendered, "");
    let [first, second] = &spec.powers[..] else {
        panic!("{:?}", spec.powers)
    };
    assert_eq!(first.test.text, "time:groupb");
    assert_eq!(
        (first.alpha, first.simulations, first.seed),
        (0.05, 2000, 11)
    );
    assert_eq!(first.subjects, vec![40, 80, 120]);
    assert_eq!(first.statistic, PowerStatistic::Satterthwaite);
    let PowerSourceDef::Design(d) = &first.source else {
        panic!()
    };
    assert_eq!(d.time, "time");
    assert_eq!(d.group.as_deref(), Some("group"));
    assert_eq!(d.arms.len(), 2);
    assert_eq!(d.arms[1].times, vec![0.0, 1.0, 2.0, 3.0, 4.0]);
    assert_eq!(d.covariance, vec![1.0, 0.0, 0.0, 0.09]);
    assert_eq!(second.statistic, PowerStatistic::LikelihoodRatio);
    let PowerSourceDef::Design(d) = &second.source else {
        panic!()
    };
    assert_eq!(d.time, "months");
    let c = &d.arms[2];
    assert_eq!(c.times, vec![0.0, 12.0]);
    // 50% gone by the second (last) visit: the hazard at that one visit is 0.5.
    assert!((c.dropout - 0.5).abs() < 1e-12);
    assert!((d.arms[1].dropout - (1.0 - 0.5f64.sqrt())).abs() < 1e-12);
    assert_eq!(
        (d.arms[0].dropout, d.arms[1].missed, d.arms[0].missed),
        (0.1, 0.2, 0.0)
    );
    assert!((d.covariance[1] + 0.5).abs() < 1e-12);
}

/// Each problem's message and the text its span covers.
fn located(src: &str) -> Vec<(String, String)> {
    let (_, d) = parse_spec(src);
    d.iter()
        .map(|p| {
            let s = p.span();
            (p.message().to_string(), src[s.start..s.end].to_string())
        })
        .collect()
}

#[test]
fn family_options_lower_to_a_generalized_model() {
    let src = r#"data "d.csv" { subject id; time t }
model a: y ~ t + (1 | id)  [family poisson]
model b: y ~ t + (1 | id)  [family binomial, link probit, nagq 10]
model c: y ~ t + (t | id)  [family negative-binomial, method ML]
model d: cbind(s, f) ~ t + (1 | id)  [family binomial]
"#;
    let (spec, problems) = check(src);
    assert_eq!(problems, "");
    let g: Vec<_> = spec.models.iter().map(|m| m.family.unwrap()).collect();
    use mixspec_engine::family::{Family, Link};
    assert_eq!(
        (g[0].family, g[0].link, g[0].nagq),
        (Family::Poisson, Link::Log, 1)
    );
    assert_eq!(
        (g[1].family, g[1].link, g[1].nagq),
        (Family::Binomial, Link::Probit, 10)
    );
    assert!(matches!(g[2].family, Family::NegativeBinomial { .. }));
    assert_eq!(g[3].link, Link::Logit);
    // Generalized models are fitted by maximum likelihood.
    assert!(spec.models.iter().all(|m| !m.reml));
}

#[test]
fn family_options_are_checked_where_written() {
    let src = r#"data "d.csv" { subject id; time t }
model a: y ~ t + (1 | id)  [family poison]
model b: y ~ t + (1 | id)  [family binomial, link lgit]
model c: y ~ t + (1 | id)  [family poisson, link logit]
model d: y ~ t + (t | id)  [family binomial, nagq 10]
model e: y ~ t + (1 | id) + (1 | site)  [family binomial, nagq 5]
model f: y ~ t + (1 | id)  [family poisson, residual "ar1(id)"]
model g: y ~ t + (1 | id)  [family poisson, method REML]
model h: y ~ t + (1 | id)  [link logit]
model i: y ~ t + (1 | id)  [family binomial, nagq 30]
model j: cbind(s, f) ~ t + (1 | id)  [family poisson]
model k: y ~ t + (1 | id)  [family poisson, bootstrap 100]
model l: y ~ t + (1 | id)  [family gaussian]
"#;
    let problems = located(src);
    let find = |text: &str| {
        problems
            .iter()
            .find(|(m, _)| m.contains(text))
            .unwrap_or_else(|| panic!("no problem with {text:?} in {problems:#?}"))
            .1
            .clone()
    };
    assert_eq!(find("`poison` is not a valid family"), "poison");
    assert_eq!(find("`lgit` is not a valid link"), "lgit");
    assert_eq!(find("does not take the logit link"), "link logit");
    assert_eq!(find("`nagq 10`"), "nagq 10");
    assert_eq!(find("`nagq 5`"), "nagq 5");
    assert_eq!(find("not offered with the poisson family"), "\"ar1(id)\"");
    assert_eq!(find("REML is not defined"), "method REML");
    assert_eq!(find("this model has no `family`"), "link logit");
    assert_eq!(find("`30` is not a valid nagq"), "30");
    assert!(find("is a binomial response").starts_with("cbind(s, f)"));
    assert_eq!(
        find("`bootstrap` is not available for generalized"),
        "bootstrap 100"
    );
    assert_eq!(find("`gaussian` is not a valid family"), "gaussian");
    assert_eq!(problems.len(), 12, "{problems:#?}");
    let (_, rendered) = check(src);
    assert!(rendered.contains("did you mean `poisson`?"), "{rendered}");
    assert!(rendered.contains("did you mean `logit`?"), "{rendered}");
    assert!(rendered.contains("leave `family` out"), "{rendered}");
}

#[test]
fn generalized_models_in_comparisons_tables_and_power() {
    let src = r#"data "d.csv" { subject id; time t }
model lin: y ~ t + (1 | id)
model glm: y ~ t + (1 | id)  [family poisson]
model glm2: y ~ t + x + (1 | id)  [family poisson]
compare lin, glm
explained glm2 vs glm
table "mixed" { glm; lin }
table "marked" { glm ref; glm2 }
power p from glm [test "t" = 0.1, subjects 10, 20]
"#;
    let problems = located(src);
    let messages: Vec<&str> = problems.iter().map(|(m, _)| m.as_str()).collect();
    assert!(
        messages.contains(&"`glm` is a generalized model (poisson) but `lin` is a linear model"),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("explained variance is not available for generalized models")),
        "{messages:?}"
    );
    assert!(
        messages.contains(&"`lin` is a linear model in a table of generalized models"),
        "{messages:?}"
    );
    assert!(
        messages.contains(&"`ref` is not used in a table of generalized models"),
        "{messages:?}"
    );
    assert!(
        !messages.iter().any(|m| m.starts_with("power from")),
        "{messages:?}"
    );
    // A table of generalized models alone, without `ref`, is fine.
    let ok = r#"data "d.csv" { subject id; time t }
model glm: y ~ t + (1 | id)  [family poisson]
model glm2: y ~ t + x + (1 | id)  [family negative-binomial]
compare glm, glm2
table "ratios" { "Poisson": glm; glm2 }
"#;
    assert_eq!(check(ok).1, "");
}

const LABELS: &str = r#"data "d.csv" { subject patient; time months }
model m: TASKS ~ months * outcome + (months | patient) [method ML]
model l: TASKS ~ months + (months | patient) [method ML]
label months "Months since baseline" unit "month"
label outcome "Outcome at discharge" levels "good" = "Good outcome", "poor" = "Poor outcome"
label m "Tasks"
table "t" [ns show] { l ref; m }
plot trajectories m by outcome as "f" [width 900, height 500, font "Times New Roman", font_size 11, palette grey, dpi 600, title "", y_title "Score"]
"#;

#[test]
fn labels_units_levels_and_figure_and_table_options_parse() {
    let (spec, problems) = check(LABELS);
    assert_eq!(problems, "");
    assert_eq!(spec.text("months"), "Months since baseline");
    assert_eq!(spec.unit("months"), Some("month"));
    assert_eq!(spec.text("m"), "Tasks");
    assert_eq!(spec.text("age"), "age");
    assert_eq!(spec.level_text("outcome", "poor"), "Poor outcome");
    assert_eq!(spec.level_text("outcome", "other"), "other");
    assert!(spec.tables[0].show_ns());
    let options = mixspec_dsl::spec::figure_options(&spec.plots[0].options).unwrap();
    assert_eq!(options.width, Some(900.0));
    assert_eq!(options.height, Some(500.0));
    assert_eq!(options.font, "Times New Roman");
    assert_eq!(options.font_size, 11.0);
    assert_eq!(options.palette, mixspec_dsl::spec::Palette::Grey);
    assert_eq!(options.dpi, 600.0);
    assert_eq!(options.title.as_deref(), Some(""));
    assert_eq!(options.y_title.as_deref(), Some("Score"));
}

#[test]
fn bad_labels_and_options_are_reported_where_written() {
    let src = r#"data "d.csv" { subject patient; time months }
model m: TASKS ~ months + (months | patient)
label months "Months"
label months "Months again"
label outcome "Outcome" levels "good" = "Good", "good" = "Fine"
table "t" [ns sho, stars all] { m ref }
plot trajectories m as "f" [widht 900, dpi 20, palette "okabe", font_size big]
"#;
    let (_, problems) = check(src);
    for needle in [
        "label of `months` is defined twice",
        "level `good` is listed twice",
        "`sho` is not a valid ns",
        "unknown table option `stars`",
        "unknown plot option `widht`",
        "did you mean `width`?",
        "`20` is not a valid dpi",
        "`okabe` is not a valid palette",
        "`big` is not a valid font_size",
    ] {
        assert!(problems.contains(needle), "no {needle:?} in\n{problems}");
    }
    let src = "data \"d.csv\"\nlabel months\n";
    assert_eq!(kinds(src), vec![SpecErrorKind::Syntax]);
}
