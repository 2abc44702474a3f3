//! The bundled DejaVu Sans font, registered with plotters' `ab_glyph` text support so figures
//! need no system font (and no fontconfig).

use anyhow::{anyhow, Result};
use plotters::style::{register_font, FontDesc, FontFamily, FontStyle};
use std::sync::OnceLock;

/// Family name under which the bundled font is registered; SVG text names it too.
pub const FAMILY: &str = "DejaVu Sans";

/// Registers DejaVu Sans (regular and bold) as [`FAMILY`] and as plotters' default
/// `sans-serif`. Idempotent and thread-safe; call it before drawing any text.
pub fn ensure_fonts() -> Result<()> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(register_all)
        .clone()
        .map_err(|e| anyhow!(e))
}

fn register_all() -> Result<(), String> {
    let faces = [
        (FontStyle::Normal, dejavu::sans::regular()),
        (FontStyle::Bold, dejavu::sans::bold()),
    ];
    for family in [FAMILY, "sans-serif"] {
        for (style, bytes) in faces {
            register_font(family, style, bytes).map_err(|_| {
                format!(
                    "the bundled DejaVu Sans ({}) is not a valid font",
                    style.as_str()
                )
            })?;
        }
    }
    Ok(())
}

/// The bundled font at `size` pixels.
pub fn font(size: f64) -> FontDesc<'static> {
    FontDesc::new(FontFamily::Name(FAMILY), size, FontStyle::Normal)
}

/// The bundled bold font at `size` pixels.
pub fn bold(size: f64) -> FontDesc<'static> {
    FontDesc::new(FontFamily::Name(FAMILY), size, FontStyle::Bold)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_font_measures_text() {
        ensure_fonts().unwrap();
        ensure_fonts().unwrap();
        let (w_short, _) = font(14.0).box_size("ab").unwrap();
        let (w_long, h) = font(14.0).box_size("lora-news-standfirst").unwrap();
        assert!(w_short > 0 && h > 0);
        assert!(w_long > 5 * w_short, "{w_long} vs {w_short}");
    }
}
