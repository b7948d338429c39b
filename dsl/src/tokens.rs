//! Lenient tokenising for diagnostics. Both languages are parsed by pest grammars; when one
//! fails, its error names and underlines whole tokens (`foo`, `1e5`, `||`, a quoted text)
//! and looks at what surrounds the failure, which needs tokens even where the text is wrong.

use crate::formula::ast::Span;

/// Which language's tokens: the two differ only where `.spec` files have lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// Formulas: one line; backquoted names; `||` for uncorrelated random effects.
    Formula,
    /// `.spec` files: a line break is a token of its own, `#` starts a comment, quoted texts
    /// end at the line's end, and `== != <= >= && ||` are single tokens.
    Spec,
}

/// Splits `src` into tokens, never failing: an unknown character is a token of its own.
pub(crate) fn tokens(src: &str, dialect: Dialect) -> Vec<Span> {
    let lines = dialect == Dialect::Spec;
    let word = |c: char| c.is_alphanumeric() || c == '.' || c == '_';
    // Byte offset where the run of characters from `from` satisfying `pred` ends.
    let run_end = |from: usize, pred: &dyn Fn(char) -> bool| {
        src[from..]
            .find(|c: char| !pred(c))
            .map_or(src.len(), |n| from + n)
    };
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(c) = src[pos..].chars().next() {
        let next = pos + c.len_utf8();
        let end = match c {
            '\n' if lines => next,
            '\r' if lines && src[next..].starts_with('\n') => next + 1,
            c if c.is_whitespace() => {
                pos = next;
                continue;
            }
            '#' if lines => {
                pos = run_end(next, &|c| c != '\n');
                continue;
            }
            c if word(c) => run_end(next, &word),
            '"' | '`' if lines || c == '`' => {
                let close = run_end(next, &|d| d != c && !(lines && d == '\n'));
                if src[close..].starts_with(c) {
                    close + 1
                } else {
                    close
                }
            }
            '=' | '!' | '<' | '>' if lines && src[next..].starts_with('=') => next + 1,
            '&' if lines && src[next..].starts_with('&') => next + 1,
            '|' if src[next..].starts_with('|') => next + 1,
            _ => next,
        };
        out.push(Span::new(pos, end));
        pos = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(src: &str, dialect: Dialect) -> Vec<&str> {
        tokens(src, dialect)
            .iter()
            .map(|s| &src[s.start..s.end])
            .collect()
    }

    #[test]
    fn formula_tokens() {
        assert_eq!(
            texts("y ~ 1e5 + (a || `odd name`)#", Dialect::Formula),
            ["y", "~", "1e5", "+", "(", "a", "||", "`odd name`", ")", "#"]
        );
    }

    #[test]
    fn spec_tokens_keep_lines_and_drop_comments() {
        assert_eq!(
            texts("a == \"x\n# note\nb && c >= 2 \"open", Dialect::Spec),
            ["a", "==", "\"x", "\n", "\n", "b", "&&", "c", ">=", "2", "\"open"]
        );
    }
}
