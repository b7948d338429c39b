//! pest's resource limit is one process-wide setting, shared by the grammars of this crate.

use std::num::NonZeroUsize;
use std::sync::Once;

/// Bounds pest's work on adversarial input. A formula costs a few dozen calls per character
/// and a spec file about as much, so this admits inputs far longer than anyone writes.
const CALL_LIMIT: usize = 1_000_000;

/// Sets the limit, once, before the first parse.
pub(crate) fn install() {
    static LIMIT: Once = Once::new();
    LIMIT.call_once(|| pest::set_call_limit(NonZeroUsize::new(CALL_LIMIT)));
}
