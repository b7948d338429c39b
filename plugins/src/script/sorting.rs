//! Array functions that call a script's comparer, replacing Rhai's own.
//!
//! Rhai's `sort`, `order` and `dedup` with a comparer drop the comparer's errors: a comparer
//! that fails (or that the host stops) leaves a silently misordered array, and the slice sort
//! underneath may panic on a comparer that is not a total order. These versions pass the
//! first error on, at the call, and sort by merging, which needs no consistency from the
//! comparer to finish. Registered on the engine itself, they take precedence over the
//! package functions of the same names.

use rhai::{Array, Engine, EvalAltResult, FnPtr, NativeCallContext};
use std::cmp::Ordering;

type Result<T> = std::result::Result<T, Box<EvalAltResult>>;

pub(crate) fn register(engine: &mut Engine) {
    for name in ["sort", "sort_by"] {
        engine.register_fn(name, sort);
    }
    for name in ["order", "order_by"] {
        engine.register_fn(name, order);
    }
    engine.register_fn("dedup", dedup);
}

/// Sorts in place, stably, by the comparer: a number (its sign) or `true` for "a first".
fn sort(ctx: NativeCallContext, array: &mut Array, comparer: FnPtr) -> Result<()> {
    let order = merge_order(array.len(), |a, b| {
        let value = comparer.call_raw(&ctx, None, [array[a].clone(), array[b].clone()])?;
        let ordering = match (value.as_int(), value.as_bool()) {
            (Ok(sign), _) => sign.cmp(&0),
            (_, Ok(a_first)) => {
                if a_first {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
            _ => {
                return Err(format!(
                    "sort: the comparer must return a number or true/false, not {}",
                    value.type_name()
                )
                .into())
            }
        };
        Ok(ordering != Ordering::Greater)
    })?;
    let mut old = std::mem::take(array);
    *array = order
        .into_iter()
        .map(|i| std::mem::take(&mut old[i]))
        .collect();
    Ok(())
}

/// A sorted copy.
fn order(ctx: NativeCallContext, array: &mut Array, comparer: FnPtr) -> Result<Array> {
    let mut copy = array.clone();
    sort(ctx, &mut copy, comparer)?;
    Ok(copy)
}

/// Drops each element the comparer calls equal to the last one kept.
fn dedup(ctx: NativeCallContext, array: &mut Array, comparer: FnPtr) -> Result<()> {
    let mut kept: Array = Vec::with_capacity(array.len());
    for item in std::mem::take(array) {
        if let Some(last) = kept.last() {
            let same = comparer.call_raw(&ctx, None, [last.clone(), item.clone()])?;
            let same = same.as_bool().map_err(|t| -> Box<EvalAltResult> {
                format!("dedup: the comparer must return true or false, not {t}").into()
            })?;
            if same {
                continue;
            }
        }
        kept.push(item);
    }
    *array = kept;
    Ok(())
}

/// The indices of `0..len` in sorted order, by a bottom-up merge sort. `first(a, b)` says
/// whether element `a` may come before element `b`; ties keep their order.
fn merge_order(
    len: usize,
    mut first: impl FnMut(usize, usize) -> Result<bool>,
) -> Result<Vec<usize>> {
    let mut order: Vec<usize> = (0..len).collect();
    let mut merged = vec![0; len];
    let mut width = 1;
    while width < len {
        for start in (0..len).step_by(2 * width) {
            let middle = (start + width).min(len);
            let end = (start + 2 * width).min(len);
            let (mut left, mut right) = (start, middle);
            for slot in &mut merged[start..end] {
                let take_left =
                    right == end || (left < middle && first(order[left], order[right])?);
                if take_left {
                    *slot = order[left];
                    left += 1;
                } else {
                    *slot = order[right];
                    right += 1;
                }
            }
        }
        std::mem::swap(&mut order, &mut merged);
        width *= 2;
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::merge_order;

    #[test]
    fn merging_sorts_stably_and_passes_errors_on() {
        let keys = [3, 1, 2, 1, 0, 3, 2];
        let order = merge_order(keys.len(), |a, b| Ok(keys[a] <= keys[b])).unwrap();
        assert_eq!(order, [4, 1, 3, 2, 6, 0, 5]);
        assert!(merge_order(0, |_, _| unreachable!()).unwrap().is_empty());
        let mut calls = 0;
        let failed = merge_order(100, |_, _| {
            calls += 1;
            Err("no".into())
        });
        assert!(failed.is_err());
        assert_eq!(calls, 1);
    }
}
