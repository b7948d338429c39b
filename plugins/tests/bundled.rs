//! The bundled instruments score data exactly by their published keys. Expectations are
//! computed by hand (shown in the comments), independently of the scripts' own test vectors.

use mixspec_engine::{read_csv, Column, DataFrame};
use mixspec_plugins::{Catalog, Params, PluginError};

fn score(id: &str, csv: &str) -> Vec<(String, Column)> {
    try_score(id, csv, &Params::default()).unwrap_or_else(|e| panic!("{id}: {e}"))
}

fn try_score(id: &str, csv: &str, params: &Params) -> Result<Vec<(String, Column)>, PluginError> {
    let catalog = Catalog::new(&[]).unwrap();
    let instrument = catalog.instrument(id, params)?;
    instrument.score(&data(csv))
}

fn data(csv: &str) -> DataFrame {
    read_csv(csv.as_bytes(), "data.csv").unwrap()
}

/// Numeric output values, NaN for missing.
fn numbers<'a>(out: &'a [(String, Column)], name: &str) -> &'a [f64] {
    match out.iter().find(|(n, _)| n == name) {
        Some((_, Column::Numeric(v))) => v,
        _ => panic!("no numeric output {name}"),
    }
}

fn labels(out: &[(String, Column)], name: &str) -> Vec<Option<String>> {
    match out.iter().find(|(n, _)| n == name) {
        Some((_, Column::Factor(f))) => f
            .codes
            .iter()
            .map(|&c| f.levels.get(c as usize).cloned())
            .collect(),
        _ => panic!("no band output {name}"),
    }
}

/// Equal to 1e-12, NaN matching NaN.
fn assert_close(got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!(
            (g.is_nan() && w.is_nan()) || (g - w).abs() < 1e-12,
            "{got:?} vs {want:?}"
        );
    }
}

const NA: f64 = f64::NAN;

#[test]
fn every_bundled_instrument_passes_its_test_vectors() {
    let catalog = Catalog::new(&[]).unwrap();
    let entries = catalog.load_all(&Params::default());
    let mut ids = Vec::new();
    for entry in entries {
        match entry.plugins {
            Ok(plugins) => {
                for p in plugins {
                    let results = p.run_tests();
                    assert!(!results.is_empty(), "{} has no tests", p.about().id);
                    for r in results {
                        r.unwrap_or_else(|e| panic!("{}: {e}", p.about().id));
                    }
                    ids.push(p.about().id.clone());
                }
            }
            Err(PluginError::ParamsRequired { plugin, .. }) => ids.push(plugin),
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(
        ids,
        ["bsi-18", "eq-5d-3l", "gaf", "sipp-sf", "wai-s", "wai-sr", "wsas"]
    );
}

#[test]
fn wai_s_reverses_items_4_and_10_and_needs_three_of_four() {
    let out = score(
        "wai-s",
        "id,wai1,wai2,wai3,wai4,wai5,wai6,wai7,wai8,wai9,wai10,wai11,wai12\n\
         a,5,6,7,1,6,5,7,4,6,2,5,3\n\
         b,5,,7,1,6,,7,4,,,5,\n",
    );
    // a: GOALS = ((8−1) + 5 + (8−2) + 5) / 4 = 23/4; BONDS = (7 + 6 + 7 + 6) / 4 = 26/4;
    //    TASKS = (5 + 6 + 4 + 3) / 4 = 18/4.
    // b: GOALS has 4, 11 (6 and 10 missing): too few. BONDS = (7 + 6 + 7) / 3.
    //    TASKS has 1 and 8 (2 and 12 missing): too few.
    assert_eq!(
        out.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["GOALS", "BONDS", "TASKS"]
    );
    assert_close(numbers(&out, "GOALS"), &[23.0 / 4.0, NA]);
    assert_close(numbers(&out, "BONDS"), &[26.0 / 4.0, 20.0 / 3.0]);
    assert_close(numbers(&out, "TASKS"), &[18.0 / 4.0, NA]);
}

#[test]
fn wai_sr_has_its_own_key_and_a_range_per_form() {
    let csv = "wai1,wai2,wai3,wai4,wai5,wai6,wai7,wai8,wai9,wai10,wai11,wai12\n\
               7,6,5,4,3,2,1,7,6,5,4,3\n";
    // TASKS = (7 + 6 + 5 + 3) / 4; GOALS = (4 + 2 + 7 + 4) / 4; BONDS = (5 + 3 + 1 + 6) / 4.
    let out = score("wai-sr", csv);
    assert_close(numbers(&out, "TASKS"), &[21.0 / 4.0]);
    assert_close(numbers(&out, "GOALS"), &[17.0 / 4.0]);
    assert_close(numbers(&out, "BONDS"), &[15.0 / 4.0]);
    // On the published 1–5 form a 7 is out of range.
    let five = Params::from_json("form.json", r#"{"range": [1, 5]}"#).unwrap();
    let err = try_score("wai-sr", csv, &five).unwrap_err();
    assert!(matches!(err, PluginError::OutOfRange { .. }), "{err}");
    assert!(err.to_string().contains("`wai1` is 7"), "{err}");
}

#[test]
fn bsi_18_prorates_subscales_and_totals_them() {
    let header: Vec<String> = (1..=18).map(|k| format!("bsi{k}")).collect();
    let csv = format!(
        "{}\n{}\n{}\n{}\n",
        header.join(","),
        // All 4: each subscale 24, GSI 72, mean 4.
        "4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4",
        // SOM (1,4,7,10,13,16) misses item 4: (0 + 2 + 3 + 4 + 1) × 6/5 = 12.
        // DEP (2,5,8,11,14,17) = 1+1+1+1+1+1 = 6; ANX (3,6,…,18) = 2×6 = 12.
        // GSI = 12 + 6 + 12 = 30; mean = 30/18.
        "0,1,2,,1,2,2,1,2,3,1,2,4,1,2,1,1,2",
        // SOM misses 1 and 4: missing, so GSI and the mean are missing too.
        ",1,2,,1,2,2,1,2,3,1,2,4,1,2,1,1,2",
    );
    let out = score("bsi-18", &csv);
    assert_close(numbers(&out, "BSI_SOM"), &[24.0, 12.0, NA]);
    assert_close(numbers(&out, "BSI_DEP"), &[24.0, 6.0, 6.0]);
    assert_close(numbers(&out, "BSI_ANX"), &[24.0, 12.0, 12.0]);
    assert_close(numbers(&out, "BSI_GSI"), &[72.0, 30.0, NA]);
    assert_close(numbers(&out, "BSI_MEAN"), &[4.0, 30.0 / 18.0, NA]);
}

#[test]
fn wsas_sums_all_five_items_into_bands() {
    let out = score(
        "wsas",
        "wsas1,wsas2,wsas3,wsas4,wsas5\n1,2,3,2,1\n3,3,3,3,3\n5,5,5,5,1\n8,7,,6,5\n",
    );
    // 9 (< 10), 15 (10–20), 21 (> 20), one item missing.
    assert_close(numbers(&out, "WSAS"), &[9.0, 15.0, 21.0, NA]);
    assert_eq!(
        labels(&out, "WSAS_BAND"),
        [
            Some("subclinical".into()),
            Some("significant".into()),
            Some("moderately severe or worse".into()),
            None
        ]
    );
}

#[test]
fn gaf_reads_zero_as_missing() {
    let out = score("gaf", "gaf\n0\n35\nNA\n100\n");
    assert_close(numbers(&out, "GAF"), &[NA, 35.0, NA, 100.0]);
    assert_eq!(
        labels(&out, "GAF_BAND"),
        [None, Some("31-40".into()), None, Some("91-100".into())]
    );
}

#[test]
fn eq_5d_3l_meets_the_published_test_vectors() {
    let out = score(
        "eq-5d-3l",
        "eq5d_mo,eq5d_sc,eq5d_ua,eq5d_pd,eq5d_ad\n\
         1,1,1,1,1\n1,2,3,2,1\n2,3,1,3,2\n3,2,1,2,3\n1,1,2,1,1\n3,3,3,3,3\n1,NA,1,1,1\n",
    );
    let index = numbers(&out, "EQ5D_INDEX");
    for (got, want) in index
        .iter()
        .zip([1.000, 0.329, -0.090, -0.127, 0.883, -0.594])
    {
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    }
    assert!(index[6].is_nan());
}

#[test]
fn eq_5d_3l_needs_whole_levels() {
    let err = try_score(
        "eq-5d-3l",
        "eq5d_mo,eq5d_sc,eq5d_ua,eq5d_pd,eq5d_ad\n1,1,1,1,1\n1,2.5,1,1,1\n",
        &Params::default(),
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("`eq5d_sc` is 2.5") && text.contains("line 3"),
        "{text}"
    );
}

/// Made-up keys and norms in the shape of the licensed ones: two items per domain.
const SIPP_PARAMS: &str = r#"{
  "version": "test keys",
  "range": [1, 4],
  "domains": {
    "self_control": {"items": ["s1", "s2"], "reverse": ["s2"]},
    "identity_integration": {"items": ["s3", "s4"]},
    "relational_capacities": {"items": ["s5", "s6"]},
    "responsibility": {"items": ["s7", "s8"]},
    "social_concordance": {"items": ["s9", "s10"]}
  },
  "norms": {
    "by": "norm",
    "groups": {
      "general": {
        "self_control": {"mean": 5, "sd": 1},
        "identity_integration": {"mean": 6, "sd": 2},
        "relational_capacities": {"mean": 6, "sd": 2},
        "responsibility": {"mean": 6, "sd": 2},
        "social_concordance": {"mean": 6, "sd": 2}
      },
      "clinical": {
        "self_control": {"mean": 4, "sd": 0.5},
        "identity_integration": {"mean": 4, "sd": 1},
        "relational_capacities": {"mean": 4, "sd": 1},
        "responsibility": {"mean": 4, "sd": 1},
        "social_concordance": {"mean": 4, "sd": 1}
      }
    }
  },
  "tests": [
    {"items": {"s1": 4, "s2": 1, "s3": 2, "s4": 2, "s5": 1, "s6": 1, "s7": 4, "s8": 4,
               "s9": 3, "s10": 3},
     "expect": {"SIPP_SELF_CONTROL": 8}}
  ]
}"#;

#[test]
fn sipp_sf_takes_keys_and_norms_from_a_parameter_file() {
    let params = Params::from_json("keys.json", SIPP_PARAMS).unwrap();
    let out = try_score(
        "sipp-sf",
        "norm,s1,s2,s3,s4,s5,s6,s7,s8,s9,s10\n\
         general,4,1,2,2,1,1,4,4,3,3\n\
         clinical,4,1,2,2,1,1,4,4,3,3\n\
         ,1,4,2,2,1,1,4,4,3,3\n",
        &params,
    )
    .unwrap();
    // Self-control: s1 + (1 + 4 − s2) = 4 + 4 = 8, then 2 for the third row.
    assert_close(numbers(&out, "SIPP_SELF_CONTROL"), &[8.0, 8.0, 2.0]);
    // General norms: 50 + 10 (8 − 5)/1 = 80; clinical: 50 + 10 (8 − 4)/0.5 = 130;
    // no norm group: missing.
    assert_close(numbers(&out, "SIPP_SELF_CONTROL_T"), &[80.0, 130.0, NA]);
    // Identity: 4; general 50 + 10 (4 − 6)/2 = 40; clinical 50 + 10 (4 − 4)/1 = 50.
    assert_close(
        numbers(&out, "SIPP_IDENTITY_INTEGRATION_T"),
        &[40.0, 50.0, NA],
    );
    // Relational: 2; general 50 + 10 (2 − 6)/2 = 30; clinical 50 + 10 (2 − 4) = 30.
    assert_eq!(
        labels(&out, "SIPP_RELATIONAL_CAPACITIES_BAND"),
        [Some("30-39".into()), Some("30-39".into()), None]
    );
    assert_eq!(
        labels(&out, "SIPP_SELF_CONTROL_BAND"),
        [Some(">=70".into()), Some(">=70".into()), None]
    );
    let sipp = Catalog::new(&[])
        .unwrap()
        .instrument("sipp-sf", &params)
        .unwrap();
    assert_eq!(sipp.about().version, "test keys");
}

#[test]
fn sipp_sf_without_keys_says_what_it_needs() {
    let err = try_score("sipp-sf", "x\n1\n", &Params::default()).unwrap_err();
    assert!(
        matches!(&err, PluginError::ParamsRequired { plugin, name } if plugin == "sipp-sf" && name == "domains"),
        "{err}"
    );
}

#[test]
fn an_unknown_norm_group_names_its_line() {
    let params = Params::from_json("keys.json", SIPP_PARAMS).unwrap();
    let err = try_score(
        "sipp-sf",
        "norm,s1,s2,s3,s4,s5,s6,s7,s8,s9,s10\n\
         general,4,1,2,2,1,1,4,4,3,3\n\
         forensic,4,1,2,2,1,1,4,4,3,3\n",
        &params,
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("`forensic`") && text.contains("line 3"),
        "{text}"
    );
}

#[test]
fn an_item_out_of_range_names_column_row_and_line() {
    let err = try_score(
        "wsas",
        "wsas1,wsas2,wsas3,wsas4,wsas5\n1,2,3,2,1\n3,3,9,3,3\n",
        &Params::default(),
    )
    .unwrap_err();
    match &err {
        PluginError::OutOfRange {
            column,
            row,
            line,
            value,
            ..
        } => assert_eq!((column.as_str(), *row, *line, *value), ("wsas3", 2, 3, 9.0)),
        _ => panic!("{err}"),
    }
    assert!(err.to_string().contains("data.csv line 3"), "{err}");
}

#[test]
fn text_in_an_item_column_names_the_cell() {
    let err = try_score("gaf", "gaf\n50\nrefused\n", &Params::default()).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("`refused`") && text.contains("line 3"),
        "{text}"
    );
}

#[test]
fn a_missing_item_column_is_named() {
    let err = try_score(
        "wsas",
        "wsas1,wsas2,wsas3,wsas4\n1,2,3,4\n",
        &Params::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("no column `wsas5`"), "{err}");
}
