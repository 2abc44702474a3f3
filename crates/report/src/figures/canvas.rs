//! Rendering one figure description to both SVG and PNG.

use crate::output::write_atomic;
use anyhow::{anyhow, Context, Result};
use image::ImageEncoder;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// A figure that can draw itself on any plotters backend.
pub trait Figure {
    /// Canvas size in pixels (width, height); SVG and PNG share it.
    fn size(&self) -> (u32, u32);

    /// Draws the whole figure on `root` (already cleared to white).
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>;
}

/// Turns a plotters error (whose `Display` needs bounds the backends' errors do not all share)
/// into an `anyhow` error.
pub fn drawing_error<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("drawing failed: {e:?}")
}

/// Writes `<dir>/<stem>.svg` and `<dir>/<stem>.png` and returns both paths (SVG first).
pub fn save_figure(figure: &impl Figure, dir: &Path, stem: &str) -> Result<Vec<PathBuf>> {
    crate::font::ensure_fonts()?;
    let size = figure.size();

    let svg_path = dir.join(format!("{stem}.svg"));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(drawing_error)?;
        figure
            .draw(&root)
            .with_context(|| format!("cannot draw {}", svg_path.display()))?;
        root.present().map_err(drawing_error)?;
    }
    write_atomic(&svg_path, svg.as_bytes())?;

    let png_path = dir.join(format!("{stem}.png"));
    let mut rgb = vec![0u8; size.0 as usize * size.1 as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area();
        root.fill(&WHITE).map_err(drawing_error)?;
        figure
            .draw(&root)
            .with_context(|| format!("cannot draw {}", png_path.display()))?;
        root.present().map_err(drawing_error)?;
    }
    // Encoded in memory, then written like every other result file (atomically).
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(&rgb, size.0, size.1, image::ColorType::Rgb8)
        .with_context(|| format!("cannot encode {}", png_path.display()))?;
    write_atomic(&png_path, &png)?;
    Ok(vec![svg_path, png_path])
}
