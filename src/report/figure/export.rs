//! The figures' SVG as PNG (rendered by resvg) and PDF (converted by svg2pdf, vector, fonts
//! embedded), behind the default `png-pdf` feature: a journal's submission system wants one
//! of these, not SVG. Both read the SVG through usvg, with the system's fonts.

/// The formats a figure is written in besides SVG.
#[cfg(feature = "png-pdf")]
pub const FORMATS: [&str; 2] = ["png", "pdf"];
#[cfg(not(feature = "png-pdf"))]
pub const FORMATS: [&str; 0] = [];

/// Font families tried for the generic `sans-serif` (and `serif`), in order: the first the
/// system has is used, so that text renders without Helvetica or Arial installed.
#[cfg(feature = "png-pdf")]
const SANS: [&str; 5] = [
    "Helvetica",
    "Arial",
    "Liberation Sans",
    "DejaVu Sans",
    "Nimbus Sans",
];
#[cfg(feature = "png-pdf")]
const SERIF: [&str; 4] = [
    "Times New Roman",
    "Liberation Serif",
    "DejaVu Serif",
    "Nimbus Roman",
];

/// DejaVu Sans (Bitstream Vera licence, `assets/fonts/DejaVu-LICENSE.txt`).
#[cfg(feature = "png-pdf")]
const BUNDLED_FONT: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");

/// Options with the system's fonts (or the bundled one where the system has none), and the
/// first of [`SANS`] and [`SERIF`] it has for the generic families.
#[cfg(feature = "png-pdf")]
fn options() -> Result<svg2pdf::usvg::Options<'static>, String> {
    let mut options = svg2pdf::usvg::Options::default();
    let db = options.fontdb_mut();
    db.load_system_fonts();
    // A machine without fonts (a bare container, a CI image) still gets readable text: the
    // bundled DejaVu Sans (one of `SANS`) stands in for every family.
    if db.len() == 0 {
        db.load_font_data(BUNDLED_FONT.to_vec());
    }
    let first = |families: &[&str]| {
        families
            .iter()
            .find(|family| {
                db.faces().any(|face| {
                    face.families
                        .iter()
                        .any(|(name, _)| name.eq_ignore_ascii_case(family))
                })
            })
            .map(|f| f.to_string())
    };
    let (sans, serif) = (first(&SANS), first(&SERIF));
    if let Some(sans) = &sans {
        db.set_sans_serif_family(sans.clone());
    }
    // Without a serif face, `font "…, serif"` gets the sans-serif one rather than no text.
    if let Some(serif) = serif.or(sans) {
        db.set_serif_family(serif);
    }
    Ok(options)
}

/// The figure `svg` as PNG at `dpi` pixels per inch and as PDF: `[png, pdf]`, or why not.
#[cfg(feature = "png-pdf")]
pub fn export(svg: &str, dpi: f64) -> Result<Vec<Vec<u8>>, String> {
    let options = options()?;
    let tree = svg2pdf::usvg::Tree::from_str(svg, &options)
        .map_err(|e| format!("the figure's SVG could not be read back: {e}"))?;
    // SVG pixels are 1/96 inch.
    let scale = (dpi / 96.0) as f32;
    let size = tree.size();
    let (w, h) = (
        (size.width() * scale).ceil() as u32,
        (size.height() * scale).ceil() as u32,
    );
    // Checked with the options where both sides are given; a side from the layout (many
    // panels) is known only here.
    let pixels = u64::from(w) * u64::from(h);
    if pixels > mixspec_dsl::spec::MAX_PNG_PIXELS {
        return Err(format!(
            "a {w} × {h} PNG has {pixels} pixels, more than the {} a figure may have; lower \
             the plot's `dpi` or its size",
            mixspec_dsl::spec::MAX_PNG_PIXELS
        ));
    }
    let mut pixmap = resvg::tiny_skia::Pixmap::new(w, h)
        .ok_or_else(|| format!("a {w} × {h} PNG is too large to draw"))?;
    pixmap.fill(resvg::tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    let png = pixmap
        .encode_png()
        .map_err(|e| format!("the PNG could not be encoded: {e}"))?;
    let pdf = svg2pdf::to_pdf(
        &tree,
        svg2pdf::ConversionOptions::default(),
        svg2pdf::PageOptions::default(),
    )
    .map_err(|e| format!("the PDF could not be made: {e:?}"))?;
    Ok(vec![png, pdf])
}

/// Without the `png-pdf` feature, figures are SVG alone.
#[cfg(not(feature = "png-pdf"))]
pub fn export(_svg: &str, _dpi: f64) -> Result<Vec<Vec<u8>>, String> {
    Ok(Vec::new())
}
