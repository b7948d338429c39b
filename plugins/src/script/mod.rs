//! Plugins written as Rhai scripts.
//!
//! A script ends with a map declaring the plugin; it is compiled and evaluated once, in a
//! [`Sandbox`](sandbox::Sandbox). An instrument's declaration is all there is: the host scores
//! it natively. A predictor's script also defines `fn derive(…)`, one parameter per input
//! column, which the host calls with whole columns (or one subject's rows) as arrays.

mod decode;
mod memory;
mod sandbox;
mod sorting;
mod source;

use crate::batch::BatchFunction;
use crate::{About, Origin, Plugin, PluginError, Predictor};
use rhai::{Array, CallFnOptions, Dynamic, Map, Scope, AST};
use sandbox::Sandbox;
use source::SourceFile;
use std::rc::Rc;

/// Parameters handed to scripts, which read them with `param(name)` or
/// `param(name, default)`: e.g. licensed item keys and norms that cannot be bundled.
#[derive(Debug, Clone, Default)]
pub struct Params(Map);

impl Params {
    /// Reads a JSON object. `name` is how messages refer to the file.
    pub fn from_json(name: &str, text: &str) -> Result<Params, PluginError> {
        let sandbox = Sandbox::new(Rc::default());
        let source = SourceFile {
            name: name.into(),
            text: text.into(),
        };
        sandbox
            .run(0, |engine| engine.parse_json(text, true))
            .map(Params)
            .map_err(|e| source.runtime(&e))
    }
}

/// Compiles and evaluates a plugin script. `name` is how messages refer to the file.
pub fn load_script(
    name: &str,
    text: &str,
    origin: Origin,
    params: &Params,
) -> Result<Plugin, PluginError> {
    let source = Rc::new(SourceFile {
        name: name.into(),
        text: text.into(),
    });
    let sandbox = Rc::new(Sandbox::new(Rc::new(params.0.clone())));
    let ast = sandbox
        .engine()
        .compile(text)
        .map_err(|e| source.error_at(format!("syntax error: {}", e.err_type()), e.position()))?;
    let value = sandbox
        .run(0, |engine| engine.eval_ast::<Dynamic>(&ast))
        .map_err(|e| source.runtime(&e))?;

    let declared = |invalid: decode::Invalid| PluginError::Declaration {
        file: source.name.clone(),
        path: invalid.path,
        message: invalid.message,
    };
    let header = decode::header(&value).map_err(declared)?;
    let about = About {
        id: header.id.clone(),
        version: header.version,
        title: header.title,
        origin,
    };
    match header.kind.as_str() {
        "instrument" => Ok(Plugin::Instrument(
            decode::instrument(&value, about).map_err(declared)?,
        )),
        "predictor" => {
            let decl = decode::predictor(&value).map_err(declared)?;
            let arity = decl.inputs.len();
            if !ast
                .iter_functions()
                .any(|f| f.name == "derive" && f.params.len() == arity)
            {
                return Err(declared(decode::Invalid {
                    path: "derive".into(),
                    message: format!(
                        "a predictor script must define `fn derive(…)` with {arity} parameters, \
                         one per input column"
                    ),
                }));
            }
            let function = ScriptFunction {
                plugin: header.id,
                sandbox,
                ast,
                source: source.clone(),
            };
            let mut predictor =
                Predictor::new(about, decl.inputs.clone(), decl.per, Box::new(function)).map_err(
                    |message| {
                        declared(decode::Invalid {
                            path: "inputs".into(),
                            message,
                        })
                    },
                )?;
            decode::predictor_tests(decl, &mut predictor).map_err(declared)?;
            Ok(Plugin::Predictor(predictor))
        }
        other => Err(declared(decode::Invalid {
            path: "kind".into(),
            message: format!("expected `instrument` or `predictor`, found `{other}`"),
        })),
    }
}

/// A script's `derive` function as a batch function.
struct ScriptFunction {
    plugin: String,
    sandbox: Rc<Sandbox>,
    ast: AST,
    source: Rc<SourceFile>,
}

impl BatchFunction for ScriptFunction {
    fn call(&self, inputs: &[&[f64]], _outputs: usize) -> Result<Vec<Vec<f64>>, PluginError> {
        let rows = inputs.first().map_or(0, |c| c.len());
        // Made within the run, which may be replayed (`Sandbox::run`).
        let args = || -> Vec<Dynamic> {
            inputs
                .iter()
                .map(|c| Dynamic::from_array(c.iter().map(|&x| Dynamic::from_float(x)).collect()))
                .collect()
        };
        let result = self
            .sandbox
            .run(rows, |engine| {
                engine.call_fn_with_options::<Dynamic>(
                    CallFnOptions::new().eval_ast(false),
                    &mut Scope::new(),
                    &self.ast,
                    "derive",
                    args(),
                )
            })
            .map_err(|e| self.source.runtime_in("derive", &e))?;
        let column = derived(result, rows).map_err(|message| PluginError::Call {
            plugin: self.plugin.clone(),
            message,
        })?;
        Ok(vec![column])
    }
}

/// `derive` returns one value per row, or a single value for all of them.
fn derived(value: Dynamic, rows: usize) -> Result<Vec<f64>, String> {
    let scalar = |v: &Dynamic| {
        if v.is_unit() {
            Ok(f64::NAN)
        } else {
            v.as_float()
                .or_else(|_| v.as_int().map(|i| i as f64))
                .map_err(|t| format!("`derive` must return numbers, not {t}"))
        }
    };
    match value.clone().try_cast::<Array>() {
        Some(values) if values.len() == rows => values.iter().map(scalar).collect(),
        Some(values) => Err(format!(
            "`derive` returned {} values for {rows} rows",
            values.len()
        )),
        None => Ok(vec![scalar(&value)?; rows]),
    }
}
