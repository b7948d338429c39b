//! The Arrow, Parquet and SPSS crates panic on some damaged files instead of returning an
//! error (a column chunk at a negative offset, a buffer past the end of the file, a record
//! count that overflows): found by flipping bytes of `tests/data/formats/`. A panic while
//! one of them reads is turned into [`ReadError::Corrupt`], and its own message (a backtrace
//! into a dependency) is kept off the terminal.

use crate::ReadError;
use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    /// Set while this thread runs a guarded reader, whose panics the hook leaves unprinted.
    static READING: Cell<bool> = const { Cell::new(false) };
}

/// Runs `read`, a reader of a `format` file shown as `shown`, with its panics as errors.
pub(crate) fn guarded<T>(
    shown: &str,
    format: &'static str,
    read: impl FnOnce() -> Result<T, ReadError>,
) -> Result<T, ReadError> {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !READING.with(Cell::get) {
                previous(info);
            }
        }));
    });
    let outer = READING.with(|r| r.replace(true));
    let result = panic::catch_unwind(AssertUnwindSafe(read));
    READING.with(|r| r.set(outer));
    result.unwrap_or_else(|payload| {
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("the reader failed");
        Err(ReadError::Corrupt {
            path: shown.into(),
            format,
            message: message.lines().next().unwrap_or_default().to_string(),
        })
    })
}
