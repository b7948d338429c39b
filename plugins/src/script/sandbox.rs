//! The Rhai engine scripts run in.
//!
//! Built from `Engine::new_raw` with only the packages a declaration or a column function
//! needs: arithmetic, logic, maths, strings, arrays, maps and iteration. Rhai itself has no
//! file, network or process access, and the packages that could block or reach outside
//! (`sleep`, time, modules and `import`, `eval`) are left out, so a script sees only the
//! values it is handed. Every run is bounded in wall-clock time, operations and array size;
//! the bounds grow with the rows handed in, so real work on a large file is not cut off while
//! a runaway script on small input stops within half a second.

use rhai::packages::{
    ArithmeticPackage, BasicArrayPackage, BasicIteratorPackage, BasicMapPackage, BasicMathPackage,
    BasicStringPackage, LogicPackage, MoreStringPackage, Package,
};
use rhai::{Array, Dynamic, Engine, EvalAltResult, Map, Position, INT};
use std::cell::{Cell, Ref, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

const TIME: Duration = Duration::from_millis(500);
const TIME_PER_ROW: Duration = Duration::from_micros(20);
const OPERATIONS: u64 = 10_000_000;
const OPERATIONS_PER_ROW: u64 = 2_000;
const CALL_DEPTH: usize = 32;
const EXPRESSION_DEPTH: usize = 64;
const FUNCTION_EXPRESSION_DEPTH: usize = 32;
const STRING_SIZE: usize = 1 << 20;
/// Elements of one array, beyond the rows handed in.
const ARRAY_SIZE: usize = 1 << 16;
const MAP_SIZE: usize = 1 << 16;
/// Items a single `numbered` call may name: far more than any questionnaire has.
const NUMBERED: INT = 10_000;

/// Why the host stopped a script; carried out of Rhai as the termination token.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stop {
    Time(Duration),
    Operations(u64),
}

/// Raised by `param(name)` when the parameter was not given.
#[derive(Debug, Clone)]
pub(crate) struct MissingParam(pub String);

/// The bounds of the current run, read by the progress callback.
#[derive(Default)]
struct Budget {
    started: Cell<Option<Instant>>,
    time: Cell<Duration>,
    operations: Cell<u64>,
}

pub(crate) struct Sandbox {
    /// Mutable only to set the array bound of each run.
    engine: RefCell<Engine>,
    budget: Rc<Budget>,
}

impl Sandbox {
    /// An engine whose `param` function answers from `params`.
    pub fn new(params: Rc<Map>) -> Sandbox {
        let mut engine = Engine::new_raw();
        for package in [
            ArithmeticPackage::new().as_shared_module(),
            LogicPackage::new().as_shared_module(),
            BasicMathPackage::new().as_shared_module(),
            BasicStringPackage::new().as_shared_module(),
            MoreStringPackage::new().as_shared_module(),
            BasicArrayPackage::new().as_shared_module(),
            BasicMapPackage::new().as_shared_module(),
            BasicIteratorPackage::new().as_shared_module(),
        ] {
            engine.register_global_module(package);
        }
        engine.disable_symbol("eval");
        engine
            .set_max_call_levels(CALL_DEPTH)
            .set_max_expr_depths(EXPRESSION_DEPTH, FUNCTION_EXPRESSION_DEPTH)
            .set_max_string_size(STRING_SIZE)
            .set_max_map_size(MAP_SIZE);

        let budget = Rc::new(Budget::default());
        let watch = budget.clone();
        engine.on_progress(move |operations| {
            if operations > watch.operations.get() {
                return Some(Dynamic::from(Stop::Operations(watch.operations.get())));
            }
            let started = watch.started.get()?;
            // Reading the clock costs more than an operation; every 1024th is often enough.
            (operations % 1024 == 0 && started.elapsed() > watch.time.get())
                .then(|| Dynamic::from(Stop::Time(watch.time.get())))
        });

        register_helpers(&mut engine, params);
        Sandbox {
            engine: RefCell::new(engine),
            budget,
        }
    }

    pub fn engine(&self) -> Ref<'_, Engine> {
        self.engine.borrow()
    }

    /// Runs `f` under the bounds for `rows` rows of input.
    pub fn run<T>(
        &self,
        rows: usize,
        f: impl FnOnce(&Engine) -> Result<T, Box<EvalAltResult>>,
    ) -> Result<T, Box<EvalAltResult>> {
        let rows32 = u32::try_from(rows).unwrap_or(u32::MAX);
        self.budget
            .time
            .set(TIME.saturating_add(TIME_PER_ROW.saturating_mul(rows32)));
        self.budget
            .operations
            .set(OPERATIONS.saturating_add(OPERATIONS_PER_ROW.saturating_mul(rows as u64)));
        self.engine
            .borrow_mut()
            .set_max_array_size(ARRAY_SIZE.saturating_add(rows));
        self.budget.started.set(Some(Instant::now()));
        let result = f(&self.engine.borrow());
        self.budget.started.set(None);
        result
    }
}

/// Functions the host adds for declarations.
fn register_helpers(engine: &mut Engine, params: Rc<Map>) {
    // `numbered("wai", [4, 10])` is ["wai4", "wai10"]: published keys list item numbers.
    engine.register_fn(
        "numbered",
        |prefix: &str, numbers: Array| -> Result<Array, Box<EvalAltResult>> {
            numbers
                .into_iter()
                .map(|n| match n.as_int() {
                    Ok(n) => Ok(format!("{prefix}{n}").into()),
                    Err(t) => {
                        Err(format!("numbered: item numbers must be integers, not {t}").into())
                    }
                })
                .collect()
        },
    );
    // `numbered("wai", 1, 12)` is ["wai1", …, "wai12"].
    engine.register_fn(
        "numbered",
        |prefix: &str, first: INT, last: INT| -> Result<Array, Box<EvalAltResult>> {
            if last.saturating_sub(first) >= NUMBERED {
                return Err(format!("numbered: at most {NUMBERED} items at once").into());
            }
            Ok((first..=last)
                .map(|n| format!("{prefix}{n}").into())
                .collect())
        },
    );
    let given = params.clone();
    engine.register_fn(
        "param",
        move |name: &str| -> Result<Dynamic, Box<EvalAltResult>> {
            given.get(name).cloned().ok_or_else(|| {
                EvalAltResult::ErrorTerminated(
                    Dynamic::from(MissingParam(name.into())),
                    Position::NONE,
                )
                .into()
            })
        },
    );
    engine.register_fn("param", move |name: &str, default: Dynamic| {
        params.get(name).cloned().unwrap_or(default)
    });
}
