//! Padding text to a column's width by hand: `format!("{:>w$}")` panics for widths of 65,536
//! or more, and a column name or factor level that long is valid input that ends up in a
//! table's first column.

/// The width of the widest of `texts`, in characters (as the padding counts them).
pub fn widest<'a>(texts: impl IntoIterator<Item = &'a str>) -> usize {
    texts
        .into_iter()
        .map(|t| t.chars().count())
        .max()
        .unwrap_or(0)
}

/// `text` right-aligned in `width` characters.
pub fn right(text: &str, width: usize) -> String {
    let fill = width.saturating_sub(text.chars().count());
    let mut s = " ".repeat(fill);
    s.push_str(text);
    s
}

/// `text` left-aligned in `width` characters.
pub fn left(text: &str, width: usize) -> String {
    let fill = width.saturating_sub(text.chars().count());
    let mut s = text.to_string();
    s.extend(std::iter::repeat_n(' ', fill));
    s
}

#[cfg(test)]
mod tests {
    use super::{left, right, widest};

    #[test]
    fn pads_past_the_formatter_limit() {
        let long = "x".repeat(70_000);
        assert_eq!(right("ab", 4), "  ab");
        assert_eq!(left("ab", 4), "ab  ");
        assert_eq!(right("abc", 2), "abc");
        assert_eq!(left("é", 2), "é ");
        assert_eq!(widest(["é", "ab"]), 2);
        assert_eq!(right("a", 70_001).len(), 70_001);
        assert_eq!(left(&long, 70_002).len(), 70_002);
    }
}
