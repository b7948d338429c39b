//! The Rhai engine scripts run in.
//!
//! Built from `Engine::new_raw` with only the packages a declaration or a column function
//! needs: arithmetic, logic, maths, strings, arrays, maps and iteration. Rhai itself has no
//! file, network or process access, and the packages that could block or reach outside
//! (`sleep`, time, modules and `import`, `eval`) are left out, so a script sees only the
//! values it is handed. Every run is bounded in wall-clock time, operations, the size of each
//! value and the memory it holds in all; the bounds grow with the rows handed in, so real work
//! on a large file is not cut off while a runaway script on small input stops within half a
//! second.
//!
//! The bounds are the host's, kept outside Rhai's own accounting, which a script can walk
//! around: Rhai counts operations afresh in each call of a closure (a sort's comparer), its
//! array functions swallow a comparer's errors, and its size checks see one value at a time.
//! So the host counts every operation of the run itself and reads the clock at each; once a
//! bound is crossed, the run is stopped for good (every later operation fails too, and a run
//! that returns anyway is an error, never a result); the memory held is counted by the
//! allocator ([`super::memory`]); and the sorts are replaced by ones that pass errors on
//! ([`super::sorting`]).

use super::{memory, sorting};
use rhai::debugger::{DebuggerCommand, DebuggerEvent};
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
/// Bytes a run may hold at once, beyond `MEMORY_PER_ROW` per row handed in: room for a few
/// dozen copies of the input.
const MEMORY: usize = 256 << 20;
const MEMORY_PER_ROW: usize = 512;
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
    /// Bytes held at once.
    Memory(usize),
}

/// Raised by `param(name)` when the parameter was not given.
#[derive(Debug, Clone)]
pub(crate) struct MissingParam(pub String);

/// The bounds of the current run and its progress, read by the progress callback.
#[derive(Default)]
struct Budget {
    /// When the current run started; `None` between runs.
    started: Cell<Option<Instant>>,
    time: Cell<Duration>,
    operations: Cell<u64>,
    /// Operations so far in this run, counted by the host over every call within it.
    done: Cell<u64>,
    memory: Cell<usize>,
    /// The allocator's count for this thread when the run started.
    held_at_start: Cell<isize>,
    /// Set once a bound is crossed; the run cannot go on past it.
    stopped: Cell<Option<Stop>>,
    /// Where in the script a replay last was (see [`Sandbox::run`]).
    at: Cell<Position>,
}

impl Budget {
    /// Runs `f` as one run under these bounds, counted from now.
    fn watch<T>(&self, time: Duration, operations: u64, bytes: usize, f: impl FnOnce() -> T) -> T {
        self.time.set(time);
        self.operations.set(operations);
        self.memory.set(bytes);
        self.done.set(0);
        self.stopped.set(None);
        self.held_at_start.set(memory::held());
        self.started.set(Some(Instant::now()));
        let result = f();
        self.started.set(None);
        result
    }

    /// Called before every operation: why the run must stop, if it must.
    fn check(&self) -> Option<Stop> {
        if let Some(stop) = self.stopped.get() {
            return Some(stop);
        }
        let started = self.started.get()?;
        let done = self.done.get() + 1;
        self.done.set(done);
        let held = memory::held().saturating_sub(self.held_at_start.get());
        // The clock is read at every operation: one operation on a long string can take a
        // millisecond, and reading the clock costs far less.
        let stop = if done > self.operations.get() {
            Stop::Operations(self.operations.get())
        } else if usize::try_from(held).is_ok_and(|h| h > self.memory.get()) {
            Stop::Memory(self.memory.get())
        } else if started.elapsed() > self.time.get() {
            Stop::Time(self.time.get())
        } else {
            return None;
        };
        self.stopped.set(Some(stop));
        Some(stop)
    }
}

pub(crate) struct Sandbox {
    /// Mutable only to set the array bound of each run.
    engine: RefCell<Engine>,
    budget: Rc<Budget>,
    params: Rc<Map>,
}

/// How long a replay may take to find where a stopped run was (see [`Sandbox::run`]).
const REPLAY_TIME: Duration = Duration::from_millis(200);

/// An engine with the sandbox's packages, bounds and helpers, reporting to `budget`; with
/// `stepping`, it also notes in `budget` the position of every statement and expression it
/// evaluates (Rhai's debugger interface, stepping into everything: about three times slower,
/// so only replays use it).
fn build(budget: &Rc<Budget>, params: Rc<Map>, stepping: bool) -> Engine {
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

    let watch = budget.clone();
    engine.on_progress(move |_| watch.check().map(Dynamic::from));
    if stepping {
        let track = budget.clone();
        // Rhai marks the debugger interface `deprecated` to say it may change, not that it
        // is going away.
        #[allow(deprecated)]
        engine.register_debugger(
            |_, debugger| debugger,
            move |_, event, _, _, position| {
                // Steps only: a function's exit (with the error) is at its closing brace, and
                // what follows a stop is unwinding.
                let step = matches!(event, DebuggerEvent::Step);
                if step && track.stopped.get().is_none() && !position.is_none() {
                    track.at.set(position);
                }
                Ok(DebuggerCommand::StepInto)
            },
        );
    }
    sorting::register(&mut engine);
    register_helpers(&mut engine, params);
    engine
}

impl Sandbox {
    /// An engine whose `param` function answers from `params`.
    pub fn new(params: Rc<Map>) -> Sandbox {
        let budget = Rc::new(Budget::default());
        Sandbox {
            engine: RefCell::new(build(&budget, params.clone(), false)),
            budget,
            params,
        }
    }

    pub fn engine(&self) -> Ref<'_, Engine> {
        self.engine.borrow()
    }

    /// Runs `f` under the bounds for `rows` rows of input. A run the host stopped is an
    /// error even if `f` returned a value: the value may be wrong (a sort cut short).
    ///
    /// Rhai gives an error that stops a run — the host's stop, or its own bounds' (string
    /// and array sizes, call depth) — the position of the call of the function it was in,
    /// and the host's call of `derive` has none: such a run is replayed (`f` again, on an
    /// engine that notes where it is) up to the operation it stopped at, or for
    /// [`REPLAY_TIME`], and the error takes the position reached: the line the script was
    /// on, or (cut short by the clock) a line of the loop it was in.
    pub fn run<T>(
        &self,
        rows: usize,
        f: impl Fn(&Engine) -> Result<T, Box<EvalAltResult>>,
    ) -> Result<T, Box<EvalAltResult>> {
        let rows32 = u32::try_from(rows).unwrap_or(u32::MAX);
        let time = TIME.saturating_add(TIME_PER_ROW.saturating_mul(rows32));
        let operations = OPERATIONS.saturating_add(OPERATIONS_PER_ROW.saturating_mul(rows as u64));
        let memory = MEMORY.saturating_add(MEMORY_PER_ROW.saturating_mul(rows));
        let array = ARRAY_SIZE.saturating_add(rows);
        self.engine.borrow_mut().set_max_array_size(array);
        let result = self
            .budget
            .watch(time, operations, memory, || f(&self.engine.borrow()));
        let stop = self.budget.stopped.take();
        let bounded = |e: &EvalAltResult| {
            e.is_system_exception()
                && !matches!(e, EvalAltResult::ErrorTerminated(t, _) if t.is::<MissingParam>())
        };
        if stop.is_none() && !matches!(&result, Err(e) if bounded(&**e)) {
            return result;
        }
        let reached = self.budget.done.get();
        let mut stepping = build(&self.budget, self.params.clone(), true);
        stepping.set_max_array_size(array);
        self.budget.at.set(Position::NONE);
        let _ = self
            .budget
            .watch(REPLAY_TIME, reached, memory, || f(&stepping));
        self.budget.stopped.take();
        let at = self.budget.at.replace(Position::NONE);
        let Some(stop) = stop else {
            // Stopped by a bound of Rhai's own.
            return result.map_err(|mut e| {
                if !at.is_none() {
                    e.set_position(at);
                }
                e
            });
        };
        // Whatever came out — the stop, an error of another kind or a value (whatever
        // swallowed the stop) — the run did not finish.
        let position = match result {
            _ if !at.is_none() => at,
            Err(e) => innermost_position(&e),
            Ok(_) => Position::NONE,
        };
        Err(EvalAltResult::ErrorTerminated(Dynamic::from(stop), position).into())
    }
}

/// Where an error happened: the innermost position known, since Rhai leaves errors raised
/// by the host (and calls from it) without one.
pub(crate) fn innermost_position(error: &EvalAltResult) -> Position {
    if let EvalAltResult::ErrorInFunctionCall(_, _, inner, position) = error {
        match innermost_position(inner) {
            p if p.is_none() => *position,
            p => p,
        }
    } else {
        error.position()
    }
}

/// Functions the host adds for declarations.
fn register_helpers(engine: &mut Engine, params: Rc<Map>) {
    // `numbered("wai", [4, 10])` is ["wai4", "wai10"]: published keys list item numbers.
    engine.register_fn(
        "numbered",
        |prefix: &str, numbers: Array| -> Result<Array, Box<EvalAltResult>> {
            let numbers = numbers
                .into_iter()
                .map(|n| {
                    n.as_int().map_err(|t| {
                        format!("numbered: item numbers must be integers, not {t}").into()
                    })
                })
                .collect::<Result<Vec<INT>, Box<EvalAltResult>>>()?;
            names(prefix, numbers)
        },
    );
    // `numbered("wai", 1, 12)` is ["wai1", …, "wai12"].
    engine.register_fn(
        "numbered",
        |prefix: &str, first: INT, last: INT| -> Result<Array, Box<EvalAltResult>> {
            if last.saturating_sub(first) >= NUMBERED {
                return Err(format!("numbered: at most {NUMBERED} items at once").into());
            }
            names(prefix, first..=last)
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

/// `prefix` followed by each number, unless the names would exceed the bound on the text one
/// value may hold: the host's helpers are bounded as the script's own strings are.
fn names(
    prefix: &str,
    numbers: impl IntoIterator<Item = INT> + Clone,
) -> Result<Array, Box<EvalAltResult>> {
    let bytes = numbers.clone().into_iter().fold(0usize, |sum, n| {
        // Digits and sign of `n`, without formatting it.
        let digits = n
            .unsigned_abs()
            .checked_ilog10()
            .map_or(1, |d| d as usize + 1);
        sum.saturating_add(prefix.len() + digits + usize::from(n < 0))
    });
    if bytes > STRING_SIZE {
        return Err(format!(
            "numbered: the names would take {bytes} bytes, more than the limit of {STRING_SIZE}"
        )
        .into());
    }
    Ok(numbers
        .into_iter()
        .map(|n| format!("{prefix}{n}").into())
        .collect())
}
