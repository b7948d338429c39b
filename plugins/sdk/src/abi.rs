//! The C ABI between mixspec and a native plugin library.
//!
//! A library exports one symbol, [`ENTRY_SYMBOL`], returning a pointer to a static
//! [`Plugin`]. Every ABI version keeps `abi_version` as the first field, so the host can read
//! it from a library of any version and refuse a mismatch before touching anything else.
//!
//! Ownership: the plugin's descriptors are static and live as long as the library, which the
//! host never unloads. The host allocates the input and output buffers of a [`Batch`]; the
//! plugin allocates the text of an error [`Message`] and frees it again in `free_message`,
//! so neither side frees memory from the other's allocator.

use std::ffi::c_void;

/// The ABI this SDK speaks; a host refuses libraries built for another.
pub const ABI_VERSION: u32 = 1;

/// Name of the exported entry point (NUL-terminated for the dynamic loader).
pub const ENTRY_SYMBOL: &[u8] = b"mixspec_plugin_entry\0";

/// Signature of the entry point.
pub type Entry = unsafe extern "C" fn() -> *const Plugin;

/// A borrowed run of `len` values at `ptr` (`ptr` may dangle when `len` is 0).
#[repr(C)]
pub struct Slice<T> {
    pub ptr: *const T,
    pub len: usize,
}

// A slice is a borrowed pointer whatever `T` is; derive would require `T: Copy`.
impl<T> Clone for Slice<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Slice<T> {}

/// UTF-8 text.
pub type Str = Slice<u8>;

/// A writable run of `len` values, one output column of a [`Batch`].
#[repr(C)]
pub struct SliceMut<T> {
    pub ptr: *mut T,
    pub len: usize,
}

/// What a library offers; static for the life of the library.
#[repr(C)]
pub struct Plugin {
    /// Must stay the first field in every ABI version.
    pub abi_version: u32,
    pub instruments: Slice<Instrument>,
    pub predictors: Slice<Predictor>,
    /// Frees a non-empty [`Message`] returned by a [`Function`].
    pub free_message: unsafe extern "C" fn(Message),
}

#[repr(C)]
pub struct Instrument {
    pub id: Str,
    pub version: Str,
    pub title: Str,
    /// Item column names, the inputs of `score` in this order.
    pub items: Slice<Str>,
    /// Theoretical response range `[min, max]`; the host rejects data outside it.
    pub range: [f64; 2],
    /// Sentinel codes the host turns into missing values before scoring.
    pub missing_codes: Slice<f64>,
    /// Names of the columns `score` writes, in this order.
    pub outputs: Slice<Str>,
    pub tests: Slice<Test>,
    pub score: Function,
}

#[repr(C)]
pub struct Predictor {
    pub id: Str,
    pub version: Str,
    pub title: Str,
    /// Names of the input columns, the inputs of `derive` in this order.
    pub inputs: Slice<Str>,
    /// When true the host calls `derive` once per subject with that subject's rows.
    pub per_subject: bool,
    pub tests: Slice<Test>,
    pub derive: Function,
}

/// A test vector: input columns and the expected output columns (NaN = missing).
#[repr(C)]
pub struct Test {
    pub inputs: Slice<Slice<f64>>,
    pub expected: Slice<Slice<f64>>,
}

/// A batch function over whole columns. `call` must not unwind; it returns an empty
/// [`Message`] on success or the error text.
#[repr(C)]
pub struct Function {
    pub call: unsafe extern "C" fn(context: *const c_void, batch: *const Batch) -> Message,
    pub context: *const c_void,
}

/// One call's columns, all `rows` long; missing values are NaN. Outputs arrive filled with
/// NaN.
#[repr(C)]
pub struct Batch {
    pub rows: usize,
    pub inputs: Slice<Slice<f64>>,
    pub outputs: Slice<SliceMut<f64>>,
}

/// Error text owned by the plugin; `ptr` is null on success.
#[repr(C)]
pub struct Message {
    pub ptr: *mut u8,
    pub len: usize,
}
