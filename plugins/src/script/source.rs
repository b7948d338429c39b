//! A script's text and name, for turning Rhai's errors into located diagnostics.

use super::sandbox::{innermost_position, MissingParam, Stop};
use crate::error::ScriptError;
use crate::PluginError;
use miette::{NamedSource, SourceSpan};
use rhai::{EvalAltResult, Position};

pub(crate) struct SourceFile {
    /// As shown in messages: a path, or `bundled/<id>.rhai`.
    pub name: String,
    pub text: String,
}

impl SourceFile {
    /// The plugin's name in messages about it: the file name without `.rhai`.
    pub fn stem(&self) -> &str {
        let file = self.name.rsplit(['/', '\\']).next().unwrap_or(&self.name);
        file.strip_suffix(".rhai").unwrap_or(file)
    }

    /// An error at a Rhai position (line and column from 1; none for the whole file).
    pub fn error_at(&self, message: String, position: Position) -> PluginError {
        let (line, column) = (
            position.line().unwrap_or(0),
            position.position().unwrap_or(0),
        );
        let span = offset(&self.text, line, column).map(|at| {
            let len = self.text[at..].chars().next().map_or(0, char::len_utf8);
            SourceSpan::from((at, len))
        });
        PluginError::Script(Box::new(ScriptError {
            message,
            file: self.name.clone(),
            line,
            column,
            text: NamedSource::new(&self.name, self.text.clone()),
            span,
        }))
    }

    /// A failed call of the script's function `name` by the host: as [`SourceFile::runtime`],
    /// but an error without a position points at the function's definition. (A stop has the
    /// position the sandbox saw last; only one before the function's first statement has
    /// none.)
    pub fn runtime_in(&self, name: &str, error: &EvalAltResult) -> PluginError {
        if !innermost_position(error).is_none() {
            return self.runtime(error);
        }
        let defined = self.text.lines().enumerate().find_map(|(i, line)| {
            let column = line.find(&format!("fn {name}"))?;
            let (line, column) = (u16::try_from(i + 1).ok()?, u16::try_from(column + 1).ok()?);
            Some(Position::new(line, column))
        });
        match defined {
            Some(position) => self.with_position(error, position),
            None => self.runtime(error),
        }
    }

    /// A failed run: the innermost error at its own position, or a stop by the host.
    pub fn runtime(&self, error: &EvalAltResult) -> PluginError {
        self.with_position(error, innermost_position(error))
    }

    fn with_position(&self, error: &EvalAltResult, position: Position) -> PluginError {
        let inner = error.unwrap_inner();
        let message = match inner {
            EvalAltResult::ErrorTerminated(token, _) => {
                if let Some(MissingParam(name)) = token.clone().try_cast::<MissingParam>() {
                    return PluginError::ParamsRequired {
                        plugin: self.stem().into(),
                        name,
                    };
                }
                match token.clone().try_cast::<Stop>() {
                    Some(Stop::Time(limit)) => format!(
                        "stopped: the script ran longer than its limit of {} ms (an endless loop?)",
                        limit.as_millis()
                    ),
                    Some(Stop::Operations(limit)) => format!(
                        "stopped: the script ran more than its limit of {limit} operations \
                         (an endless loop?)"
                    ),
                    Some(Stop::Memory(limit)) => format!(
                        "stopped: the script held more than its limit of {} MiB of memory",
                        limit >> 20
                    ),
                    None => inner.to_string(),
                }
            }
            EvalAltResult::ErrorParsing(e, _) => format!("syntax error: {e}"),
            other => other.to_string(),
        };
        self.error_at(message, position)
    }
}

/// Byte offset of a 1-based line and column; `None` if the text has no such place.
fn offset(text: &str, line: usize, column: usize) -> Option<usize> {
    if line == 0 {
        return None;
    }
    let start: usize = text
        .split_inclusive('\n')
        .take(line - 1)
        .map(str::len)
        .sum();
    let rest = text.get(start..)?;
    let this_line = rest.lines().next().unwrap_or("");
    let within = this_line
        .char_indices()
        .nth(column.saturating_sub(1))
        .map_or(this_line.len(), |(b, _)| b);
    Some(start + within)
}

#[cfg(test)]
mod tests {
    use super::offset;

    #[test]
    fn offsets_count_characters_from_one() {
        let text = "ab\nçd\n";
        assert_eq!(offset(text, 1, 1), Some(0));
        assert_eq!(offset(text, 2, 2), Some(5));
        assert_eq!(offset(text, 0, 0), None);
    }
}
