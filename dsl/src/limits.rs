//! pest's resource limit is one process-wide setting, shared by the grammars of this crate.

use std::num::NonZeroUsize;
use std::sync::Once;

/// Bounds pest's work on adversarial input. A spec file costs about ten calls per byte, so
/// this admits a file at the spec parser's length limit (1 MiB) with room to spare, while a
/// pathological input still stops within seconds.
const CALL_LIMIT: usize = 100_000_000;

/// Sets the limit, once, before the first parse.
pub(crate) fn install() {
    static LIMIT: Once = Once::new();
    LIMIT.call_once(|| pest::set_call_limit(NonZeroUsize::new(CALL_LIMIT)));
}
