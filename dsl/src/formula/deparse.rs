//! R's `deparse()` of formula expressions, which is where variable labels such as `I(age^2)`,
//! `log(x + 1)` and `` `my var` `` come from. Labels are coefficient-name prefixes, so they
//! must match R character for character.

use super::ast::{BinaryOp, Node, NodeKind, UnaryOp};

pub fn deparse(node: &Node) -> String {
    let mut out = String::new();
    write(node, &mut out);
    out
}

fn write(node: &Node, out: &mut String) {
    match &node.kind {
        NodeKind::Name(name) => out.push_str(&quote_name(name)),
        NodeKind::Number(x) => out.push_str(&format_number(*x)),
        NodeKind::Unary(op, operand) => {
            out.push(if *op == UnaryOp::Minus { '-' } else { '+' });
            write(operand, out);
        }
        NodeKind::Binary(op, lhs, rhs) => {
            write(lhs, out);
            // R's deparser spaces PP_BINARY operators but not PP_BINARY2 ones (`/ ^ :`).
            match op {
                BinaryOp::Div | BinaryOp::Pow | BinaryOp::Colon => out.push_str(op.symbol()),
                _ => {
                    out.push(' ');
                    out.push_str(op.symbol());
                    out.push(' ');
                }
            }
            write(rhs, out);
        }
        NodeKind::Paren(inner) => {
            out.push('(');
            write(inner, out);
            out.push(')');
        }
        NodeKind::Call { name, args, .. } => {
            out.push_str(&quote_name(name));
            out.push('(');
            for (i, arg) in args.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write(arg, out);
            }
            out.push(')');
        }
    }
}

/// A name as R prints it: bare if syntactic, otherwise in backquotes.
pub fn quote_name(name: &str) -> String {
    if is_syntactic(name) {
        name.to_string()
    } else {
        format!("`{name}`")
    }
}

/// R's `isValidName()`.
fn is_syntactic(name: &str) -> bool {
    let mut chars = name.chars();
    let ok_start = match chars.next() {
        Some('.') => !name[1..].starts_with(|c: char| c.is_ascii_digit()),
        Some(c) => c.is_alphabetic(),
        None => false,
    };
    ok_start
        && chars.all(|c| c.is_alphanumeric() || c == '.' || c == '_')
        && (name == "..." || !is_reserved(name))
}

/// Words R's parser reserves, which can only be variable names in backquotes.
pub fn is_reserved(name: &str) -> bool {
    matches!(
        name,
        "if" | "else"
            | "repeat"
            | "while"
            | "function"
            | "for"
            | "next"
            | "break"
            | "TRUE"
            | "FALSE"
            | "NULL"
            | "Inf"
            | "NaN"
            | "NA"
            | "NA_integer_"
            | "NA_real_"
            | "NA_character_"
            | "NA_complex_"
            | "in"
    )
}

/// A non-negative literal as R's deparser prints it: 15 significant digits, in fixed or
/// scientific notation, whichever is narrower (fixed on ties), as `formatReal()` decides with
/// the default `scipen = 0`. Hence `100000` prints as `1e+05` but `123456` as itself.
pub fn format_number(x: f64) -> String {
    if x.is_infinite() {
        return "Inf".to_string();
    }
    if x == 0.0 {
        return "0".to_string();
    }
    let sci = format!("{x:.14e}");
    let (mantissa, exponent) = sci.split_once('e').expect("`{:e}` output has an exponent");
    let exponent: i32 = exponent.parse().expect("`{:e}` exponent is an integer");
    let digits = mantissa.replace('.', "");
    let sig = digits.trim_end_matches('0').len().max(1);

    let decimals = (sig as i32 - exponent - 1).max(0) as usize;
    let int_width = if exponent >= 0 {
        exponent as usize + 1
    } else {
        1
    };
    let fixed_width = int_width + if decimals > 0 { decimals + 1 } else { 0 };
    let exp_width = if exponent.abs() >= 100 { 3 } else { 2 };
    let sci_width = if sig > 1 { sig + 1 } else { 1 } + 2 + exp_width;

    if fixed_width <= sci_width {
        format!("{x:.decimals$}")
    } else {
        let mantissa = format!("{x:.prec$e}", prec = sig - 1);
        let mantissa = mantissa
            .split_once('e')
            .map_or(mantissa.as_str(), |(m, _)| m)
            .to_string();
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:0exp_width$}", exponent.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_as_r_deparses_them() {
        // Expected strings from R 4.2: `deparse(x)`.
        let cases = [
            (2.0, "2"),
            (0.5, "0.5"),
            (2.5, "2.5"),
            (0.1, "0.1"),
            (100.0, "100"),
            (1000.0, "1000"),
            (10000.0, "10000"),
            (100000.0, "1e+05"),
            (100001.0, "100001"),
            (123456.0, "123456"),
            (0.001, "0.001"),
            (1e-4, "1e-04"),
            (0.0001234, "0.0001234"),
            (1e15, "1e+15"),
            (1e16, "1e+16"),
            (123456789012345.0, "123456789012345"),
            (1234567890123456.0, "1234567890123456"),
            (1.5e-8, "1.5e-08"),
            (1e300, "1e+300"),
            (6.02214, "6.02214"),
            (0.1 + 0.2, "0.3"),
            (1234.5678, "1234.5678"),
            (0.0, "0"),
            (0.123_456_789_012_345_68, "0.123456789012346"),
            (123_456_789.123, "123456789.123"),
            (5e-324, "4.94065645841247e-324"),
            (f64::INFINITY, "Inf"),
        ];
        for (x, want) in cases {
            assert_eq!(format_number(x), want, "{x:e}");
        }
    }

    #[test]
    fn only_non_syntactic_names_are_backquoted() {
        assert_eq!(quote_name("months"), "months");
        assert_eq!(quote_name(".x_1"), ".x_1");
        assert_eq!(quote_name("my var"), "`my var`");
        assert_eq!(quote_name(".5x"), "`.5x`");
        assert_eq!(quote_name("2x"), "`2x`");
        assert_eq!(quote_name("_x"), "`_x`");
        assert_eq!(quote_name("TRUE"), "`TRUE`");
        assert_eq!(quote_name("café"), "café");
    }
}
