//! SVG charts of the ROC and precision-recall curves (plotters), written
//! next to a markdown report so CI can keep them as artifacts.

use std::path::{Path, PathBuf};

use plotters::prelude::*;

use crate::error::{Error, Result};
use crate::evaluation::Evaluation;
use crate::metrics::CurvePoint;

const SIZE: (u32, u32) = (640, 480);
const COLORS: [RGBColor; 2] = [RGBColor(0x1f, 0x77, 0xb4), RGBColor(0xd6, 0x27, 0x28)];

/// One chart as SVG text.
pub fn chart(title: &str, x: &str, y: &str, series: &[(&str, &[CurvePoint])]) -> Result<String> {
    let mut svg = String::new();
    {
        let err = |e: String| Error::Metric(format!("cannot draw the {title} chart: {e}"));
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(0f64..1f64, 0f64..1f64)
            .map_err(|e| err(e.to_string()))?;
        chart
            .configure_mesh()
            .x_desc(x)
            .y_desc(y)
            .draw()
            .map_err(|e| err(e.to_string()))?;
        for (i, (name, points)) in series.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            chart
                .draw_series(LineSeries::new(
                    points
                        .iter()
                        .map(|p| (p.x.clamp(0.0, 1.0), p.y.clamp(0.0, 1.0))),
                    color.stroke_width(2),
                ))
                .map_err(|e| err(e.to_string()))?
                .label(*name)
                .legend(move |(lx, ly)| {
                    PathElement::new(vec![(lx, ly), (lx + 20, ly)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| err(e.to_string()))?;
        root.present().map_err(|e| err(e.to_string()))?;
    }
    Ok(svg)
}

/// Writes `<stem>-roc.svg` and `<stem>-pr.svg` beside `report`; returns them.
pub fn write_beside(report: &Path, eval: &Evaluation) -> Result<Vec<PathBuf>> {
    let stem = report
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "report".into());
    let dir = report.parent().unwrap_or(Path::new("."));
    let (roc, pr) = super::curve_series(eval);
    let mut written = Vec::new();
    for (suffix, svg) in [
        (
            "roc",
            chart("ROC curve", "false-positive rate", "recall", &roc)?,
        ),
        (
            "pr",
            chart("Precision-recall curve", "recall", "precision", &pr)?,
        ),
    ] {
        let path = dir.join(format!("{stem}-{suffix}.svg"));
        crate::fs::write_atomic(&path, svg.as_bytes())?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_svg_with_one_path_per_model_and_a_legend() {
        let a = [
            CurvePoint {
                x: 0.0,
                y: 0.0,
                threshold: 1.0,
            },
            CurvePoint {
                x: 0.1,
                y: 0.8,
                threshold: 0.5,
            },
            CurvePoint {
                x: 1.0,
                y: 1.0,
                threshold: 0.0,
            },
        ];
        let b = [
            CurvePoint {
                x: 0.0,
                y: 0.0,
                threshold: 1.0,
            },
            CurvePoint {
                x: 1.0,
                y: 1.0,
                threshold: 0.0,
            },
        ];
        let svg = chart(
            "ROC curve",
            "fpr",
            "recall",
            &[("candidate", &a), ("production", &b)],
        )
        .unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(
            svg.contains("ROC curve") && svg.contains("candidate") && svg.contains("production")
        );
        assert!(svg.matches("<polyline").count() >= 2, "one line per model");
    }
}
