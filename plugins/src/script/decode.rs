//! From the map a script returns to an [`Instrument`] or a [`Predictor`].
//!
//! Every field is checked for its type and every unknown key is refused (a misspelt
//! `min_valid` must not silently mean "all items"); errors carry the path of the field.

use crate::instrument::{Aggregate, Band, CompositeAggregate, Lower, MeanSd, Norms};
use crate::predictor::Per;
use crate::testing::{Expected, TOLERANCE};
use crate::{About, Instrument, Predictor};
use rhai::{Array, Dynamic, Map};

/// A field that is missing, mistyped or inconsistent.
pub(super) struct Invalid {
    pub path: String,
    pub message: String,
}

type Result<T> = std::result::Result<T, Invalid>;

/// The fields of one map, with the path that leads to it.
struct Fields {
    map: Map,
    path: String,
}

impl Fields {
    fn new(value: &Dynamic, path: String, allowed: &[&str]) -> Result<Fields> {
        let Some(map) = value.clone().try_cast::<Map>() else {
            return Err(Invalid {
                message: format!("expected a map #{{ … }}, found {}", value.type_name()),
                path,
            });
        };
        if let Some(key) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(Invalid {
                message: format!(
                    "unknown field `{key}`; the fields are {}",
                    allowed.join(", ")
                ),
                path,
            });
        }
        Ok(Fields { map, path })
    }

    fn invalid(&self, message: impl Into<String>) -> Invalid {
        Invalid {
            path: match self.path.as_str() {
                "" => "declaration".into(),
                p => p.into(),
            },
            message: message.into(),
        }
    }

    fn at(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// A present, non-unit field.
    fn get(&self, key: &str) -> Option<&Dynamic> {
        self.map.get(key).filter(|v| !v.is_unit())
    }

    fn required(&self, key: &str) -> Result<&Dynamic> {
        self.get(key)
            .ok_or_else(|| self.invalid(format!("`{key}` is required")))
    }

    fn text(&self, key: &str) -> Result<String> {
        text(self.required(key)?, self.at(key))
    }

    fn opt_text(&self, key: &str) -> Result<Option<String>> {
        self.get(key).map(|v| text(v, self.at(key))).transpose()
    }

    fn number(&self, key: &str) -> Result<f64> {
        number(self.required(key)?, self.at(key))
    }

    fn opt_number(&self, key: &str) -> Result<Option<f64>> {
        self.get(key).map(|v| number(v, self.at(key))).transpose()
    }

    fn list(&self, key: &str) -> Result<Array> {
        list(self.required(key)?, self.at(key))
    }

    fn opt_list(&self, key: &str) -> Result<Array> {
        self.get(key)
            .map_or(Ok(Array::new()), |v| list(v, self.at(key)))
    }

    fn texts(&self, key: &str) -> Result<Vec<String>> {
        each(&self.list(key)?, &self.at(key), text)
    }

    fn opt_texts(&self, key: &str) -> Result<Vec<String>> {
        each(&self.opt_list(key)?, &self.at(key), text)
    }

    fn numbers(&self, key: &str) -> Result<Vec<f64>> {
        each(&self.list(key)?, &self.at(key), number)
    }

    fn flag(&self, key: &str) -> Result<bool> {
        match self.get(key) {
            None => Ok(false),
            Some(v) => v.as_bool().map_err(|t| Invalid {
                path: self.at(key),
                message: format!("expected true or false, found {t}"),
            }),
        }
    }

    fn count(&self, key: &str) -> Result<Option<usize>> {
        self.get(key)
            .map(|v| match v.as_int() {
                Ok(n) if n > 0 => Ok(n as usize),
                _ => Err(Invalid {
                    path: self.at(key),
                    message: format!("expected a positive whole number, found {v}"),
                }),
            })
            .transpose()
    }

    /// One of several words.
    fn choice<T: Copy>(&self, key: &str, choices: &[(&str, T)]) -> Result<T> {
        let word = self.text(key)?;
        choices
            .iter()
            .find(|(w, _)| *w == word)
            .map(|(_, t)| *t)
            .ok_or_else(|| Invalid {
                path: self.at(key),
                message: format!(
                    "expected one of {}, found `{word}`",
                    choices
                        .iter()
                        .map(|(w, _)| *w)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })
    }

    fn maps(&self, key: &str, allowed: &[&str]) -> Result<Vec<Fields>> {
        let at = self.at(key);
        self.opt_list(key)?
            .iter()
            .enumerate()
            .map(|(i, v)| Fields::new(v, format!("{at}[{i}]"), allowed))
            .collect()
    }
}

fn text(v: &Dynamic, path: String) -> Result<String> {
    v.clone().into_string().map_err(|t| Invalid {
        path,
        message: format!("expected text, found {t}"),
    })
}

fn number(v: &Dynamic, path: String) -> Result<f64> {
    v.as_float()
        .or_else(|_| v.as_int().map(|i| i as f64))
        .map_err(|t| Invalid {
            path,
            message: format!("expected a number, found {t}"),
        })
}

/// A number, or NaN for `()`: how test vectors write a missing value.
fn number_or_missing(v: &Dynamic, path: String) -> Result<f64> {
    if v.is_unit() {
        Ok(f64::NAN)
    } else {
        number(v, path)
    }
}

fn list(v: &Dynamic, path: String) -> Result<Array> {
    v.clone().try_cast::<Array>().ok_or_else(|| Invalid {
        message: format!("expected a list [ … ], found {}", v.type_name()),
        path,
    })
}

fn each<T>(items: &[Dynamic], path: &str, f: fn(&Dynamic, String) -> Result<T>) -> Result<Vec<T>> {
    items
        .iter()
        .enumerate()
        .map(|(i, v)| f(v, format!("{path}[{i}]")))
        .collect()
}

/// What every plugin declares; the rest is read by `kind`.
pub(super) struct Header {
    pub kind: String,
    pub id: String,
    pub version: String,
    pub title: String,
}

/// What a predictor declares besides its header; the host adds the function.
pub(super) struct PredictorDecl {
    pub inputs: Vec<String>,
    pub per: Per,
    tests: Vec<Fields>,
}

pub(super) fn header(value: &Dynamic) -> Result<Header> {
    let Some(map) = value.clone().try_cast::<Map>() else {
        return Err(Invalid {
            path: "declaration".into(),
            message: format!(
                "a plugin script must end with its declaration, a map #{{ … }}; it ends with {}",
                value.type_name()
            ),
        });
    };
    let top = Fields {
        map,
        path: String::new(),
    };
    Ok(Header {
        kind: top.text("kind")?,
        id: top.text("id")?,
        version: top.text("version")?,
        title: top.opt_text("title")?.unwrap_or_default(),
    })
}

const INSTRUMENT_FIELDS: &[&str] = &[
    "kind",
    "id",
    "version",
    "title",
    "items",
    "range",
    "missing_codes",
    "scales",
    "composites",
    "value_sets",
    "t_scores",
    "bands",
    "tests",
];

const PREDICTOR_FIELDS: &[&str] = &["kind", "id", "version", "title", "inputs", "per", "tests"];

pub(super) fn instrument(value: &Dynamic, about: About) -> Result<Instrument> {
    let f = Fields::new(value, String::new(), INSTRUMENT_FIELDS)?;
    let range = f.numbers("range")?;
    let [lo, hi] = range[..] else {
        return Err(Invalid {
            path: "range".into(),
            message: "expected [lowest, highest]".into(),
        });
    };
    let missing_codes = each(&f.opt_list("missing_codes")?, "missing_codes", number)?;
    let mut inst = Instrument::new(about, f.texts("items")?, (lo, hi), missing_codes)
        .map_err(|m| f.invalid(m))?;

    for s in f.maps(
        "scales",
        &[
            "name",
            "items",
            "reverse",
            "aggregate",
            "min_valid",
            "prorate",
        ],
    )? {
        let aggregate = s.choice(
            "aggregate",
            &[("sum", Aggregate::Sum), ("mean", Aggregate::Mean)],
        )?;
        inst.add_scale(
            &s.text("name")?,
            &s.texts("items")?,
            &s.opt_texts("reverse")?,
            aggregate,
            s.count("min_valid")?,
            s.flag("prorate")?,
        )
        .map_err(|m| s.invalid(m))?;
    }
    for c in f.maps("composites", &["name", "of", "aggregate"])? {
        let aggregate = c.choice(
            "aggregate",
            &[
                ("sum", CompositeAggregate::Sum),
                ("mean", CompositeAggregate::Mean),
                ("item_mean", CompositeAggregate::ItemMean),
            ],
        )?;
        inst.add_composite(&c.text("name")?, &c.texts("of")?, aggregate)
            .map_err(|m| c.invalid(m))?;
    }
    for v in f.maps(
        "value_sets",
        &["name", "start", "decrements", "if_any_at_least"],
    )? {
        let table = Fields::new(
            v.required("decrements")?,
            v.at("decrements"),
            &inst_items(&inst),
        )?;
        let decrements = table
            .map
            .iter()
            .map(|(item, d)| {
                let path = table.at(item);
                Ok((
                    item.to_string(),
                    each(&list(d, path.clone())?, &path, number)?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut extra = Vec::new();
        for e in v.maps("if_any_at_least", &["level", "decrement"])? {
            extra.push((e.number("level")?, e.number("decrement")?));
        }
        inst.add_value_set(&v.text("name")?, v.number("start")?, &decrements, extra)
            .map_err(|m| v.invalid(m))?;
    }
    for t in f.maps("t_scores", &["name", "of", "mean", "sd", "by", "groups"])? {
        let norms = match t.opt_text("by")? {
            None => Norms::One(mean_sd(&t)?),
            Some(column) => {
                let table = t.required("groups")?;
                let Some(groups) = table.clone().try_cast::<Map>() else {
                    return Err(t.invalid("`groups` must map each group to #{ mean, sd }"));
                };
                let groups = groups
                    .iter()
                    .map(|(g, v)| {
                        let m = Fields::new(v, format!("{}.{g}", t.at("groups")), &["mean", "sd"])?;
                        Ok((g.to_string(), mean_sd(&m)?))
                    })
                    .collect::<Result<Vec<_>>>()?;
                Norms::ByGroup { column, groups }
            }
        };
        inst.add_t_score(&t.text("name")?, &t.text("of")?, norms)
            .map_err(|m| t.invalid(m))?;
    }
    for b in f.maps("bands", &["name", "of", "bands"])? {
        let bands =
            b.maps("bands", &["label", "from", "above"])?
                .iter()
                .map(|band| {
                    let lower = match (band.opt_number("from")?, band.opt_number("above")?) {
                        (None, None) => Lower::None,
                        (Some(x), None) => Lower::AtLeast(x),
                        (None, Some(x)) => Lower::Above(x),
                        (Some(_), Some(_)) => {
                            return Err(band
                                .invalid("a band starts `from` a value or `above` it, not both"))
                        }
                    };
                    Ok(Band {
                        label: band.text("label")?,
                        lower,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
        inst.add_bands(&b.text("name")?, &b.text("of")?, bands)
            .map_err(|m| b.invalid(m))?;
    }
    for t in f.maps("tests", &["items", "expect", "tolerance"])? {
        let items = test_items(&t, inst.items())?;
        let expected = expectations(&t)?;
        let tolerance = t.opt_number("tolerance")?.unwrap_or(TOLERANCE);
        inst.add_test(items, expected, tolerance)
            .map_err(|m| t.invalid(m))?;
    }
    Ok(inst)
}

fn inst_items(inst: &Instrument) -> Vec<&str> {
    inst.items().iter().map(String::as_str).collect()
}

fn mean_sd(f: &Fields) -> Result<MeanSd> {
    Ok(MeanSd {
        mean: f.number("mean")?,
        sd: f.number("sd")?,
    })
}

/// A test's items, one respondent: a list of every item in order, or a map from item to
/// value where absent items are missing.
fn test_items(t: &Fields, items: &[String]) -> Result<Vec<Vec<f64>>> {
    let given = t.required("items")?;
    let values = if let Some(list) = given.clone().try_cast::<Array>() {
        if list.len() != items.len() {
            return Err(t.invalid(format!(
                "`items` lists {} values but the instrument has {} items",
                list.len(),
                items.len()
            )));
        }
        each(&list, &t.at("items"), number_or_missing)?
    } else {
        let allowed: Vec<&str> = items.iter().map(String::as_str).collect();
        let map = Fields::new(given, t.at("items"), &allowed)?;
        items
            .iter()
            .map(|i| map.get(i).map_or(Ok(f64::NAN), |v| number(v, map.at(i))))
            .collect::<Result<Vec<_>>>()?
    };
    Ok(values.into_iter().map(|v| vec![v]).collect())
}

/// `expect: #{ OUTPUT: value, … }` for one respondent; `()` expects a missing value.
fn expectations(t: &Fields) -> Result<Vec<(String, Vec<Expected>)>> {
    let expect = t.required("expect")?;
    let Some(map) = expect.clone().try_cast::<Map>() else {
        return Err(t.invalid("`expect` must map each output to its expected value"));
    };
    map.iter()
        .map(|(name, v)| {
            Ok((
                name.to_string(),
                vec![expected(v, format!("{}.{name}", t.at("expect")))?],
            ))
        })
        .collect()
}

fn expected(v: &Dynamic, path: String) -> Result<Expected> {
    if v.is_unit() {
        Ok(Expected::Missing)
    } else if v.is_string() {
        Ok(Expected::Label(text(v, path)?))
    } else {
        Ok(Expected::Number(number(v, path)?))
    }
}

pub(super) fn predictor(value: &Dynamic) -> Result<PredictorDecl> {
    let f = Fields::new(value, String::new(), PREDICTOR_FIELDS)?;
    Ok(PredictorDecl {
        inputs: f.texts("inputs")?,
        per: f.choice("per", &[("row", Per::Row), ("subject", Per::Subject)])?,
        tests: f.maps("tests", &["inputs", "expect", "tolerance"])?,
    })
}

/// Adds the declared tests once the predictor exists:
/// `#{ inputs: #{ x: [..] }, expect: [..] }`, each one call of `derive`.
pub(super) fn predictor_tests(decl: PredictorDecl, predictor: &mut Predictor) -> Result<()> {
    for t in decl.tests {
        let allowed: Vec<&str> = decl.inputs.iter().map(String::as_str).collect();
        let given = Fields::new(t.required("inputs")?, t.at("inputs"), &allowed)?;
        let inputs = decl
            .inputs
            .iter()
            .map(|i| each(&given.list(i)?, &given.at(i), number_or_missing))
            .collect::<Result<Vec<_>>>()?;
        let expect = each(&t.list("expect")?, &t.at("expect"), expected)?;
        let tolerance = t.opt_number("tolerance")?.unwrap_or(TOLERANCE);
        predictor
            .add_test(inputs, expect, tolerance)
            .map_err(|m| t.invalid(m))?;
    }
    Ok(())
}
