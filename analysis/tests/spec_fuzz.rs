//! Fuzzing every text front end. Mutants of the example specs (and of their formulas) go
//! through `check` — parsing, the checks that need no data, reading and preparing the data
//! (instruments, derived variables, predictors), the checks against the data; nothing is
//! fitted — and through `parse_formula`; mutants of CSV files through the CSV reader and
//! the design; of the plugin scripts (instrument and predictor declarations) through
//! loading, scoring and deriving; of parameter files, `score --when` conditions and the
//! `--residual`, `--covariance` and `--link` option strings through their parsers. Each must
//! come back as a result or a report of problems, never a panic. (The binary formats'
//! readers are fuzzed from the CLI, in `tests/formats.rs`.)
//!
//! It runs in `cargo test` from a fixed seed for a fixed number of mutants and at most
//! `BUDGET` of wall time per test, so CI is deterministic and bounded. Set
//! `MIXSPEC_FUZZ_SEED` and `MIXSPEC_FUZZ_CASES` to search further locally; a failure prints
//! the mutant.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mixspec_analysis::{check, Plugins};
use mixspec_dsl::parse_formula;
use mixspec_dsl::spec::parse_condition;
use mixspec_engine::family::Link;
use mixspec_engine::spec::{CovarianceType, ResidualSpec};
use mixspec_engine::{read_csv, Column, DataFrame, Design};
use mixspec_plugins::{load_script, Catalog, Origin, Params, Plugin};

const BUDGET: Duration = Duration::from_secs(45);
const CASES: u64 = 1_500;

/// SplitMix64: a tiny seeded generator, so a failing case is reproduced from its seed alone.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Specs to mutate: the examples, and small ones that reach the statements the examples
/// leave out (predictors, describe by a derived group, residual structures, options).
fn seeds() -> Vec<String> {
    let mut seeds: Vec<String> = std::fs::read_dir(root().join("specs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "spec"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    seeds.sort();
    assert!(seeds.len() >= 4, "the example specs are missing");
    let cohort = r#"data "../data/mbt_cohort.csv" { subject patient; time months }
instrument "gaf"
derive final_gaf = last(if months == 36 then GAF else NA)
derive outcome = if final_gaf >= 60 then "good" else "poor"
derive gaf_baseline = predictor "baseline"(GAF, months)
derive pct = 100 * mean(GAF) / max(GAF)
factor outcome levels "good", "poor" reference "good"
numeric age
model a: GAF ~ months * outcome + gaf_baseline + (months | patient) [method ML]
model b: GAF ~ months + (months || patient) [df kenward-roger, intervals profile]
model c: GAF ~ months + I(months^2) + (1 | patient) where age > 30 and not missing(outcome)
compare a, b
explained a vs b
table "t" { "A": b ref; a }
describe "d" by outcome { age "Age"; female }
plot trajectories a by outcome as "figure"
report "r" { a, b }
"#;
    seeds.push(cohort.to_string());
    seeds
}

/// Words mutants are made of besides the seed's own: keywords, operators, brackets, and
/// values at the edges of what numbers, names and strings can hold.
const VOCABULARY: &[&str] = &[
    "data",
    "instrument",
    "derive",
    "factor",
    "numeric",
    "model",
    "compare",
    "explained",
    "report",
    "plot",
    "table",
    "describe",
    "predictor",
    "by",
    "as",
    "when",
    "where",
    "levels",
    "reference",
    "vs",
    "ref",
    "trajectories",
    "if",
    "then",
    "else",
    "and",
    "or",
    "not",
    "~",
    "+",
    "-",
    "*",
    "/",
    ":",
    "^",
    "|",
    "||",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ";",
    "=",
    "==",
    "!=",
    "<",
    ">=",
    "\"",
    "`",
    "#",
    "\n",
    "\n  ",
    "0",
    "1",
    "-1",
    "0.5",
    "1e308",
    "-1e308",
    "1e-320",
    "18446744073709551616",
    "5000000000",
    "NA",
    "NaN",
    "Inf",
    "\"\"",
    "\"x\"",
    "\"NA\"",
    "`odd name`",
    "nosuch",
    "months",
    "patient",
    "GAF",
    "outcome",
    "age",
    "last",
    "first",
    "count",
    "sum",
    "mean",
    "log",
    "exp",
    "sqrt",
    "missing",
    "abs",
    "I",
    "offset",
    "(1 | patient)",
    "(0 + months | patient)",
    "(1 | patient/outcome)",
    "0 +",
    "- 1",
    "[method ML]",
    "[method REML]",
    "[df kenward-roger]",
    "[intervals profile]",
    "[bootstrap 0]",
    "[bootstrap 18446744073709551615]",
    "[seed -1]",
    "[covariance diag]",
    "[residual ar1]",
    "é",
    "∑",
    "\u{0}",
    "\t",
];

/// The seed split into tokens (words, numbers, strings, single symbols, runs of blanks), so
/// that mutations keep most of the file well-formed and reach the later checks.
fn tokens(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        let mut end = start + c.len_utf8();
        let same_kind = |d: char| {
            if c.is_alphanumeric() || c == '_' || c == '.' {
                d.is_alphanumeric() || d == '_' || d == '.'
            } else if c == ' ' || c == '\t' {
                d == ' ' || d == '\t'
            } else {
                false
            }
        };
        if c == '"' {
            while let Some((i, d)) = chars.next() {
                end = i + d.len_utf8();
                if d == '"' || d == '\n' {
                    break;
                }
            }
        } else {
            while let Some(&(i, d)) = chars.peek() {
                if !same_kind(d) {
                    break;
                }
                end = i + d.len_utf8();
                chars.next();
            }
        }
        out.push(text[start..end].to_string());
    }
    out
}

/// One to three random edits of the tokens or lines of `text`.
fn mutate(text: &str, rng: &mut Rng) -> String {
    let mut toks = tokens(text);
    for _ in 0..1 + rng.below(3) {
        let n = toks.len().max(1);
        let i = rng.below(n).min(toks.len().saturating_sub(1));
        match rng.below(10) {
            0 if !toks.is_empty() => {
                toks.remove(i);
            }
            1 if !toks.is_empty() => {
                let t = toks[i].clone();
                toks.insert(i, t);
            }
            2 if !toks.is_empty() => {
                let other = rng.pick(&toks).clone();
                toks[i] = other;
            }
            3 if !toks.is_empty() => toks[i] = rng.pick(VOCABULARY).to_string(),
            4 => toks.insert(i.min(toks.len()), rng.pick(VOCABULARY).to_string()),
            5 => toks.truncate(i),
            // Whole lines: delete, duplicate, or swap two.
            6..=8 => {
                let joined = toks.concat();
                let mut lines: Vec<&str> = joined.split_inclusive('\n').collect();
                if lines.is_empty() {
                    continue;
                }
                let a = rng.below(lines.len());
                let b = rng.below(lines.len());
                match rng.below(3) {
                    0 => {
                        lines.remove(a);
                    }
                    1 => lines.insert(b, lines[a]),
                    _ => lines.swap(a, b),
                }
                toks = tokens(&lines.concat());
            }
            // A name the data does not have, where a name was: a failed definition that
            // later statements use.
            _ => {
                let names: Vec<usize> = (0..toks.len())
                    .filter(|&k| toks[k].starts_with(|c: char| c.is_alphabetic()))
                    .collect();
                if !names.is_empty() {
                    let k = *rng.pick(&names);
                    toks[k] = format!("{}_x", toks[k]);
                }
            }
        }
    }
    toks.concat()
}

/// The formulas of a spec's model statements.
fn formulas(spec: &str) -> Vec<String> {
    spec.lines()
        .filter(|l| l.starts_with("model"))
        .filter_map(|l| l.split_once(':'))
        .map(|(_, f)| {
            let f = f.split(['[', '#']).next().unwrap_or(f);
            f.split(" where ").next().unwrap_or(f).trim().to_string()
        })
        .collect()
}

fn plugins() -> Plugins {
    Plugins {
        catalog: Catalog::new(&[root().join("plugins/examples/scripts")]).unwrap(),
        params: Params::default(),
    }
}

/// Checks one text as a spec in `specs/`; `Err` carries the panic's message.
fn survives(text: &str, plugins: &Plugins) -> Result<(), String> {
    let base = root().join("specs");
    catch_unwind(AssertUnwindSafe(|| {
        if let Err(e) = check("fuzz.spec", text, &base, plugins) {
            assert!(!e.render_plain().is_empty());
        }
    }))
    .map_err(panic_message)
}

fn formula_survives(text: &str) -> Result<(), String> {
    catch_unwind(|| {
        let _ = parse_formula(text);
    })
    .map_err(panic_message)
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The seed, the number of cases and the time budget of a fuzz test: fixed in CI, longer by
/// the environment.
fn settings(cases: u64) -> (u64, u64, Duration) {
    let seed = env_number("MIXSPEC_FUZZ_SEED", 17);
    let n = env_number("MIXSPEC_FUZZ_CASES", cases);
    let budget = if std::env::var_os("MIXSPEC_FUZZ_CASES").is_some() {
        Duration::MAX
    } else {
        BUDGET
    };
    (seed, n, budget)
}

#[test]
fn mutated_specs_and_formulas_never_panic() {
    let (seed, cases, budget) = settings(CASES);
    let seeds = seeds();
    let formulas: Vec<String> = seeds.iter().flat_map(|s| formulas(s)).collect();
    let plugins = plugins();
    let mut rng = Rng(seed);
    let start = Instant::now();
    let mut failures = Vec::new();
    let mut done = 0;
    while done < cases && start.elapsed() < budget {
        let seed_text = rng.pick(&seeds).clone();
        let spec = mutate(&seed_text, &mut rng);
        if let Err(message) = survives(&spec, &plugins) {
            failures.push(format!("case {done}: {message}\n--- spec ---\n{spec}\n---"));
        }
        let seed_formula = rng.pick(&formulas).clone();
        let formula = mutate(&seed_formula, &mut rng);
        if let Err(message) = formula_survives(&formula) {
            failures.push(format!(
                "case {done}: {message}\n--- formula ---\n{formula}\n---"
            ));
        }
        done += 1;
    }
    report("specs and formulas", seed, start, done, &failures);
}

/// The fuzzer's first find: `describe … by g` where `g`'s own definition failed.
#[test]
fn describe_by_a_group_whose_derive_failed_reports_the_derive() {
    let spec = r#"data "../data/mbt_cohort.csv" { subject patient; time months }
derive grp = if nosuch > 1 then "a" else "b"
model m: GAF ~ months + (1 | patient)
describe "d" by grp { age "Age" }
"#;
    let err = check("t.spec", spec, &root().join("specs"), &plugins())
        .err()
        .expect("the derive fails");
    let text = err.render_plain();
    assert!(text.contains("nosuch"), "{text}");
}

/// The first `lines` lines of a file under the repository's root.
fn head(path: &str, lines: usize) -> String {
    let text = std::fs::read_to_string(root().join(path)).unwrap();
    text.split_inclusive('\n').take(lines).collect()
}

/// CSV files to mutate, each with a formula its columns fit.
fn csv_seeds() -> Vec<(String, &'static str)> {
    let mut seeds = vec![
        (
            head("tests/data/reference/sleepstudy.csv", 40),
            "Reaction ~ Days + (Days | Subject)",
        ),
        (
            head("data/mbt_cohort.csv", 40),
            "gaf ~ months * female + (1 | patient)",
        ),
        (
            "y,x,g\n1,\"2\",a\n\"3.5\",,\"b \"\"c\"\"\"\nNA,1e308,\"\"\n-Inf,0x1,é\n".into(),
            "y ~ x + (1 | g)",
        ),
    ];
    for bad in ["aliased", "few_obs", "one_group", "text_response"] {
        seeds.push((
            head(&format!("tests/data/bad/{bad}.csv"), 40),
            "y ~ x + (1 | g)",
        ));
    }
    seeds
}

/// Option strings and conditions, as users type them.
const OPTIONS: &[&str] = &[
    "ar1(Subject)",
    "car1(Days | Subject)",
    "cs(g)",
    "varident(f)",
    "ar1(a:b)",
    "un",
    "diag",
    "cs",
    "logit",
    "cloglog",
    "months == 36 and not missing(GAF)",
    "version != \"a\" or score > -1e308",
];

/// Numbers items are scored with: in range, out of it, missing, non-finite.
const ITEM_VALUES: &[f64] = &[0.0, 1.0, 2.0, 3.0, 4.0, 7.0, -1.0, 0.5, 1e308, f64::NAN];

/// Loads a plugin script, then scores or derives with it on a few rows; `Err` carries a
/// panic's message.
fn plugin_survives(text: &str, rng: &mut Rng) -> Result<(), String> {
    let values: Vec<f64> = (0..12).map(|_| *rng.pick(ITEM_VALUES)).collect();
    catch_unwind(AssertUnwindSafe(|| {
        let origin = Origin::Script("fuzz.rhai".into());
        match load_script("fuzz.rhai", text, origin, &Params::default()) {
            Ok(Plugin::Instrument(instrument)) => {
                let columns = instrument
                    .items()
                    .iter()
                    .enumerate()
                    .map(|(i, item)| {
                        let rotated: Vec<f64> = (0..values.len())
                            .map(|r| values[(r + i) % values.len()])
                            .collect();
                        (item.clone(), Column::Numeric(rotated))
                    })
                    .collect();
                let _ = instrument.score(&DataFrame::new("fuzz", columns));
            }
            Ok(Plugin::Predictor(predictor)) => {
                let names: Vec<String> = predictor.inputs().to_vec();
                let columns = names
                    .iter()
                    .map(|n| (n.clone(), Column::Numeric(values.clone())))
                    .collect();
                let data = DataFrame::new("fuzz", columns);
                let inputs: Vec<&str> = names.iter().map(String::as_str).collect();
                let _ = predictor.derive(&data, &inputs, None);
            }
            Err(_) => {}
        }
    }))
    .map_err(panic_message)
}

/// The scripts that declare plugins: the bundled instruments and the example predictor.
fn script_seeds() -> Vec<String> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(root().join("plugins/bundled"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rhai"))
        .collect();
    paths.push(root().join("plugins/examples/scripts/baseline.rhai"));
    paths.sort();
    paths
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect()
}

#[test]
fn mutated_data_plugins_and_options_never_panic() {
    let (seed, cases, budget) = settings(CASES / 3);
    let csvs = csv_seeds();
    let scripts = script_seeds();
    let params = r#"{ "norms": { "mean": 50, "sd": 10 }, "keys": [1, 2, "x"] }"#;
    let mut rng = Rng(seed);
    let start = Instant::now();
    let mut failures = Vec::new();
    let mut done = 0;
    while done < cases && start.elapsed() < budget {
        let (csv, formula) = rng.pick(&csvs).clone();
        let text = mutate(&csv, &mut rng);
        let survived = catch_unwind(|| {
            if let Ok(data) = read_csv(text.as_bytes(), "fuzz.csv") {
                let _ = Design::build(&parse_formula(formula).unwrap(), &data);
            }
        });
        if let Err(payload) = survived {
            let message = panic_message(payload);
            failures.push(format!("case {done}: {message}\n--- csv ---\n{text}\n---"));
        }

        let option_seed: &str = *rng.pick(OPTIONS);
        let option = mutate(option_seed, &mut rng);
        let survived = catch_unwind(|| {
            let _ = ResidualSpec::parse(&option);
            let _ = CovarianceType::parse(&option);
            let _ = Link::parse(&option);
            let _ = parse_condition(&option);
            let _ = Params::from_json("fuzz.json", &option);
        });
        if let Err(payload) = survived {
            let message = panic_message(payload);
            failures.push(format!(
                "case {done}: {message}\n--- option ---\n{option}\n---"
            ));
        }
        let json = mutate(params, &mut rng);
        if let Err(message) = catch_unwind(|| Params::from_json("fuzz.json", &json)).map(drop) {
            let message = panic_message(message);
            failures.push(format!(
                "case {done}: {message}\n--- params ---\n{json}\n---"
            ));
        }

        let script_seed = rng.pick(&scripts).clone();
        let script = mutate(&script_seed, &mut rng);
        if let Err(message) = plugin_survives(&script, &mut rng) {
            failures.push(format!(
                "case {done}: {message}\n--- script ---\n{script}\n---"
            ));
        }
        done += 1;
    }
    report(
        "CSV files, options and plugin scripts",
        seed,
        start,
        done,
        &failures,
    );
}

/// Prints what a fuzzing test covered and fails it on any panic it caught, or when its
/// budget ran out before 50 mutants.
fn report(what: &str, seed: u64, start: Instant, done: u64, failures: &[String]) {
    eprintln!(
        "{done} mutants of {what} from seed {seed} in {:?}",
        start.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} of {done} mutants panicked (seed {seed}):\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(done >= 50, "only {done} mutants within the budget");
}
