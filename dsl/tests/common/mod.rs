//! Deterministic random formulas, shared by the fuzz test and the R oracle test.

/// splitmix64: tiny, seedable, and good enough to spread test cases around.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const VARIABLES: &[&str] = &["a", "b", "c", "d", "I(a*2)", "log(b)", "`e f`", "I(-c^2)"];
const GROUPINGS: &[&str] = &["g", "g:h", "g/h", "g/h/k", "g/h:k"];

fn space(rng: &mut Rng) -> &'static str {
    rng.pick(&["", " ", " "])
}

/// A fixed-effects expression using every formula operator, with only parenthesised powers
/// (the one construct where the parser is deliberately stricter than R).
pub fn fixed_expr(rng: &mut Rng, depth: usize) -> String {
    if depth == 0 || rng.chance(0.3) {
        return if rng.chance(0.9) {
            rng.pick(VARIABLES)
        } else {
            rng.pick(&["0", "1"])
        }
        .to_string();
    }
    let roll = rng.below(100);
    if roll < 55 {
        let op = rng.pick(&["+", "+", "-", "*", "/", ":", ":"]);
        let (l, r) = (fixed_expr(rng, depth - 1), fixed_expr(rng, depth - 1));
        format!("{l}{}{op}{}{r}", space(rng), space(rng))
    } else if roll < 65 {
        format!("-{}", fixed_expr(rng, depth - 1))
    } else if roll < 85 {
        format!("({})", fixed_expr(rng, depth - 1))
    } else {
        format!("({})^{}", fixed_expr(rng, depth - 1), rng.pick(&["2", "3"]))
    }
}

/// A whole formula, sometimes with random-effect terms added.
pub fn formula(rng: &mut Rng) -> String {
    if rng.chance(0.5) {
        return format!("y ~ {}", fixed_expr(rng, 4));
    }
    let parts: Vec<String> = (0..1 + rng.below(3))
        .map(|_| {
            if rng.chance(0.5) {
                let bar = rng.pick(&[" | ", " || "]);
                format!("({}{bar}{})", fixed_expr(rng, 2), rng.pick(GROUPINGS))
            } else {
                fixed_expr(rng, 2)
            }
        })
        .collect();
    format!("y ~ {}", parts.join(" + "))
}
