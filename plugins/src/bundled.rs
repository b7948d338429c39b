//! The instruments that ship inside mixspec, embedded so the binary works from any directory.
//! Each file is named for the id it declares.

pub(crate) const BUNDLED: &[(&str, &str)] = &[
    ("bsi-18", include_str!("../bundled/bsi-18.rhai")),
    ("eq-5d-3l", include_str!("../bundled/eq-5d-3l.rhai")),
    ("gaf", include_str!("../bundled/gaf.rhai")),
    ("sipp-sf", include_str!("../bundled/sipp-sf.rhai")),
    ("wai-s", include_str!("../bundled/wai-s.rhai")),
    ("wai-sr", include_str!("../bundled/wai-sr.rhai")),
    ("wsas", include_str!("../bundled/wsas.rhai")),
];
