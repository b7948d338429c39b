//! The order in which R sorts factor levels.
//!
//! R sorts strings with ICU's root collation where available (as on Debian's R, even in the
//! C.UTF-8 locale): white space, then punctuation in a fixed order, then symbols, digits and
//! letters; letters case-insensitively first, lower case before upper case on ties. We follow
//! that rule so that reference levels, and so coefficient names, match what R users see.

use std::cmp::Ordering;

/// ICU root order of ASCII punctuation and symbols (checked against R's `sort()`).
const PUNCTUATION: &str = "_-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$";

/// Compares two level labels as R's `sort()` does.
pub fn r_order(a: &str, b: &str) -> Ordering {
    sort_key(a).cmp(&sort_key(b))
}

/// Whether plain byte order sorts these labels as [`r_order`] does: true when every label
/// is made of digits and lower-case ASCII letters only, or every one of digits and upper-case
/// letters only (digits sort before letters in both orders, and no case differences arise).
/// Patient and visit codes usually are, and comparing bytes is many times cheaper.
pub fn byte_order_is_r_order<'a>(mut labels: impl Iterator<Item = &'a str> + Clone) -> bool {
    let only = |keep: fn(&u8) -> bool| labels.clone().all(|l| l.bytes().all(|b| keep(&b)));
    only(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
        || only(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        || labels.next().is_none()
}

/// A key whose order is [`r_order`]'s: computed once per label, it sorts many labels
/// without allocating per comparison.
pub fn sort_key(s: &str) -> SortKey {
    SortKey {
        primary: s.chars().map(primary_key).collect(),
        // Labels equal but for case differ first where one has a lower-case letter and the
        // other does not; the lower-case one sorts first.
        not_lower: s.chars().map(|c| !c.is_lowercase()).collect(),
        len: s.len(),
    }
}

/// See [`sort_key`]; fields compare in order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SortKey {
    primary: Vec<(u8, u32)>,
    not_lower: Vec<bool>,
    len: usize,
}

fn primary_key(c: char) -> (u8, u32) {
    if c.is_whitespace() {
        (0, c as u32)
    } else if let Some(i) = PUNCTUATION.find(c) {
        (1, i as u32)
    } else if c.is_ascii_digit() {
        (3, c as u32)
    } else if c.is_alphabetic() {
        (4, c.to_lowercase().next().unwrap_or(c) as u32)
    } else {
        (2, c as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_order_is_used_only_where_it_agrees() {
        let codes = ["p10", "p9", "a1", "ab", "a"];
        assert!(byte_order_is_r_order(codes.iter().copied()));
        let mut bytes = codes.to_vec();
        bytes.sort_unstable();
        let mut r = codes.to_vec();
        r.sort_by(|a, b| r_order(a, b));
        assert_eq!(bytes, r);
        assert!(!byte_order_is_r_order(["a", "B"].iter().copied()));
        assert!(!byte_order_is_r_order(["a_1"].iter().copied()));
    }

    #[test]
    fn sorts_like_r() {
        let mut v = vec![
            "b", "B", "a", "A9", "A10", "_x", "x.1", "x_1", "aB", "Ab", "a b", "a-b", "ab2",
        ];
        v.sort_by(|a, b| r_order(a, b));
        // R 4.2 (ICU): sort(c(...))
        assert_eq!(
            v,
            ["_x", "a", "a b", "a-b", "A10", "A9", "aB", "Ab", "ab2", "b", "B", "x_1", "x.1"]
        );
    }
}
