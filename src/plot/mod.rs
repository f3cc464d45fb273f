//! PNG line charts: several named series per panel, axis labels, title, legend, optional shaded
//! bands (e.g. mean ± SD), several panels per figure.
//!
//! Text is drawn with DejaVu Sans compiled into the binary (crate `dejavu`) through plotters'
//! `ab_glyph` backend, so no fontconfig or freetype is needed on the machine.

use crate::error::{Error, Result};
use plotters::prelude::*;
use std::path::Path;
use std::sync::OnceLock;

/// Font family name registered for all text.
const FONT: &str = "sans-serif";

/// Colour cycle (matplotlib's tab10), so series keep familiar colours across figures.
const PALETTE: [(u8, u8, u8); 10] = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
];

/// How a series is drawn.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Style {
    /// A line through the points (with dots when there are at most 60 points).
    #[default]
    Line,
    /// Dots of the given radius in pixels and no line (scatter plots, spike rasters).
    Points(u32),
}

/// One series: `points` (x, y); `band`, if given, is the half-width drawn as a shaded area
/// around each point (same length as `points`).
#[derive(Clone, Debug, Default)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub band: Option<Vec<f64>>,
    pub style: Style,
}

impl Series {
    /// A series without band.
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Series {
            name: name.into(),
            points,
            band: None,
            style: Style::Line,
        }
    }

    /// Draws the series as dots of radius `radius` pixels without a line.
    pub fn points(mut self, radius: u32) -> Self {
        self.style = Style::Points(radius);
        self
    }

    /// Adds a shaded band of half-width `band[i]` around point i.
    pub fn with_band(mut self, band: Vec<f64>) -> Self {
        self.band = Some(band);
        self
    }
}

/// One chart of a figure.
#[derive(Clone, Debug, Default)]
pub struct Panel {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
}

/// Panels laid out in a grid, `columns` wide, each `panel_size` pixels.
#[derive(Clone, Debug)]
pub struct Figure {
    pub title: Option<String>,
    pub panels: Vec<Panel>,
    pub columns: usize,
    pub panel_size: (u32, u32),
}

impl Default for Figure {
    fn default() -> Self {
        Figure {
            title: None,
            panels: Vec::new(),
            columns: 2,
            panel_size: (640, 440),
        }
    }
}

impl Figure {
    /// A figure with a title and `panels`, two columns of the default size.
    pub fn titled(title: impl Into<String>, panels: Vec<Panel>) -> Self {
        Figure {
            title: Some(title.into()),
            panels,
            ..Figure::default()
        }
    }
}

fn register_font() -> Result<()> {
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok = *DONE.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular()).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(Error::Parse {
            file: "DejaVuSans.ttf (bundled)".into(),
            message: "the bundled font could not be loaded".into(),
        })
    }
}

/// Data range over finite values, padded by 5 % (and widened if degenerate).
fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 {
        return (lo - 0.5, hi + 0.5);
    }
    let pad = 0.05 * (hi - lo);
    (lo - pad, hi + pad)
}

/// An axis tick label: at most three decimals, without trailing zeros ("50", "0.25").
fn tick(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.into()
    }
}

/// Draws `figure` into a PNG at `path`.
pub fn save_png(figure: &Figure, path: &Path) -> Result<()> {
    register_font()?;
    let err = |e: &dyn std::fmt::Display| {
        Error::io(path, std::io::Error::other(format!("plotting failed: {e}")))
    };
    let cols = figure.columns.clamp(1, figure.panels.len().max(1));
    let rows = figure.panels.len().div_ceil(cols).max(1);
    let title_h = if figure.title.is_some() { 40 } else { 0 };
    let size = (
        figure.panel_size.0 * cols as u32,
        figure.panel_size.1 * rows as u32 + title_h,
    );
    let root = BitMapBackend::new(path, size).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let body = match &figure.title {
        Some(t) => root.titled(t, (FONT, 24)).map_err(|e| err(&e))?,
        None => root.clone(),
    };
    let areas = body.split_evenly((rows, cols));
    for (area, panel) in areas.iter().zip(&figure.panels) {
        draw_panel(area, panel).map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

fn draw_panel(
    area: &Area,
    panel: &Panel,
) -> std::result::Result<
    (),
    DrawingAreaErrorKind<<BitMapBackend<'static> as DrawingBackend>::ErrorType>,
> {
    let xs = range(
        panel
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0)),
    );
    let ys = range(panel.series.iter().flat_map(|s| {
        s.points.iter().enumerate().flat_map(move |(i, p)| {
            let h = s
                .band
                .as_ref()
                .and_then(|b| b.get(i))
                .copied()
                .unwrap_or(0.0);
            [p.1 - h, p.1 + h]
        })
    }));
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, (FONT, 20))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(65)
        .build_cartesian_2d(xs.0..xs.1, ys.0..ys.1)?;
    chart
        .configure_mesh()
        .x_desc(panel.x_label.as_str())
        .y_desc(panel.y_label.as_str())
        .label_style((FONT, 14))
        .x_label_formatter(&|v| tick(*v))
        .y_label_formatter(&|v| tick(*v))
        .axis_desc_style((FONT, 16))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    for (i, s) in panel.series.iter().enumerate() {
        let (r, g, b) = PALETTE[i % PALETTE.len()];
        let color = RGBColor(r, g, b);
        let pts: Vec<(f64, f64)> = s
            .points
            .iter()
            .copied()
            .filter(|p| p.0.is_finite() && p.1.is_finite())
            .collect();
        if let Some(band) = &s.band {
            let upper = s.points.iter().zip(band).map(|(p, h)| (p.0, p.1 + h));
            let lower = s.points.iter().zip(band).rev().map(|(p, h)| (p.0, p.1 - h));
            let poly: Vec<(f64, f64)> = upper.chain(lower).filter(|p| p.1.is_finite()).collect();
            chart.draw_series(std::iter::once(Polygon::new(poly, color.mix(0.2).filled())))?;
        }
        let drawn = match s.style {
            Style::Line => {
                let line =
                    chart.draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))?;
                if pts.len() <= 60 {
                    chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled())))?
                } else {
                    line
                }
            }
            Style::Points(r) => {
                chart.draw_series(pts.iter().map(|&p| Circle::new(p, r, color.filled())))?
            }
        };
        if !s.name.is_empty() {
            drawn.label(s.name.as_str()).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        }
    }
    if panel.series.iter().any(|s| !s.name.is_empty()) {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.5))
            .label_font((FONT, 14))
            .draw()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_labels_drop_trailing_zeros() {
        assert_eq!(tick(50.0), "50");
        assert_eq!(tick(0.25), "0.25");
        assert_eq!(tick(0.30000000000000004), "0.3");
        assert_eq!(tick(-0.0001), "0");
        assert_eq!(tick(1e-3), "0.001");
    }

    #[test]
    fn writes_a_png_with_bands_and_panels() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fig.png");
        let s = Series::new("a", vec![(0.0, 1.0), (1.0, 2.0), (2.0, 1.5)])
            .with_band(vec![0.1, 0.2, 0.1]);
        let fig = Figure {
            title: Some("Test".into()),
            panels: vec![
                Panel {
                    title: "one".into(),
                    x_label: "x".into(),
                    y_label: "y".into(),
                    series: vec![
                        s.clone(),
                        Series::new("b", vec![(0.0, 0.0), (2.0, 3.0)]),
                        Series::new("dots", vec![(0.5, 0.5), (1.5, 2.5)]).points(2),
                    ],
                },
                Panel {
                    title: "empty".into(),
                    ..Panel::default()
                },
            ],
            ..Figure::default()
        };
        save_png(&fig, &path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
    }
}
