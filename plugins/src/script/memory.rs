//! The memory a script holds, counted where it is allocated.
//!
//! Rhai bounds single values (a string's length, an array's or a map's entries), but not how
//! many of them a script keeps: a map of copies of a large array, or an array assigned into
//! another element by element, passes every per-value check while the total grows without
//! bound. Counting bytes in the global allocator is the one measure no script can go around.
//! The count is per thread: a script runs on the thread that called it, so the difference
//! of two readings on that thread is what the script allocated and kept in between, whatever
//! other threads do meanwhile.
//!
//! The allocator is declared here rather than in the binary so that every program that runs
//! scripts (the CLI, the test harnesses) is metered without having to remember to opt in.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Metered;

#[global_allocator]
static METERED: Metered = Metered;

thread_local! {
    /// Bytes allocated minus bytes freed on this thread since it started.
    static NET: Cell<isize> = const { Cell::new(0) };
}

fn add(bytes: isize) {
    // `try_with` fails only while the thread's locals are torn down, when no script runs.
    let _ = NET.try_with(|net| net.set(net.get().wrapping_add(bytes)));
}

/// Allocation size as a signed count; no allocation exceeds `isize::MAX` bytes.
fn size(bytes: usize) -> isize {
    bytes as isize
}

// SAFETY: every call is passed on unchanged to the system allocator; the bookkeeping around
// it touches only a thread-local counter, which neither allocates nor can panic.
unsafe impl GlobalAlloc for Metered {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            add(size(layout.size()));
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            add(size(layout.size()));
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        add(-size(layout.size()));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            add(size(new_size) - size(layout.size()));
        }
        p
    }
}

/// This thread's running count; what was allocated and kept between two readings is their
/// difference.
pub(crate) fn held() -> isize {
    NET.try_with(Cell::get).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::held;

    #[test]
    fn allocations_are_counted_until_freed() {
        let before = held();
        let block = vec![0u8; 1 << 20];
        assert!(held() - before >= 1 << 20);
        drop(block);
        assert!(held() - before < 1 << 10);
    }
}
