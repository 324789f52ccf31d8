//! SVG charts of the ROC and precision-recall curves (plotters), written
//! next to a markdown report so CI can keep them as artifacts.

use std::path::{Path, PathBuf};

use plotters::prelude::*;

use crate::error::{Error, Result};
use crate::evaluation::Evaluation;
use crate::metrics::CurvePoint;

use super::Mark;

const SIZE: (u32, u32) = (640, 480);
const COLORS: [RGBColor; 2] = [RGBColor(0x1f, 0x77, 0xb4), RGBColor(0xd6, 0x27, 0x28)];

/// The smallest false-positive rate the log-scale ROC chart shows.
const MIN_FPR: f64 = 1e-4;

/// How the x axis is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Axis {
    Linear,
    /// Log scale from [`MIN_FPR`] to 1; smaller values sit at its left edge.
    Log,
}

impl Axis {
    /// Where `x` is drawn: log charts are drawn on a linear axis of
    /// log10(x), labelled with x.
    fn place(self, x: f64) -> f64 {
        match self {
            Axis::Linear => x.clamp(0.0, 1.0),
            Axis::Log => x.clamp(MIN_FPR, 1.0).log10(),
        }
    }

    fn range(self) -> std::ops::Range<f64> {
        match self {
            Axis::Linear => 0.0..1.0,
            Axis::Log => MIN_FPR.log10()..0.0,
        }
    }
}

/// One chart as SVG text: a line per model, and a dot at each model's
/// operating point labelled with its threshold.
pub fn chart(
    title: &str,
    x: &str,
    y: &str,
    axis: Axis,
    series: &[(&str, &[CurvePoint])],
    marks: &[Mark],
) -> Result<String> {
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
            .build_cartesian_2d(axis.range(), 0f64..1f64)
            .map_err(|e| err(e.to_string()))?;
        let label = |v: &f64| match axis {
            Axis::Linear => format!("{v:.1}"),
            Axis::Log => format!("{}", 10f64.powf(*v)),
        };
        let mut mesh = chart.configure_mesh();
        mesh.x_desc(x).y_desc(y).x_label_formatter(&label);
        if axis == Axis::Log {
            // One label per decade.
            mesh.x_labels(5);
        }
        mesh.draw().map_err(|e| err(e.to_string()))?;
        for (i, (name, points)) in series.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            chart
                .draw_series(LineSeries::new(
                    points
                        .iter()
                        .map(|p| (axis.place(p.x), p.y.clamp(0.0, 1.0))),
                    color.stroke_width(2),
                ))
                .map_err(|e| err(e.to_string()))?
                .label(*name)
                .legend(move |(lx, ly)| {
                    PathElement::new(vec![(lx, ly), (lx + 20, ly)], color.stroke_width(2))
                });
            for m in marks.iter().filter(|m| m.model == *name) {
                let at = (axis.place(m.x), m.y.clamp(0.0, 1.0));
                // A circle at the threshold, a triangle at the alert budget,
                // its label below the point so the two do not collide.
                let drawn = if m.budget {
                    chart.draw_series([EmptyElement::at(at)
                        + TriangleMarker::new((0, 0), 7, color.filled())
                        + Text::new(m.label.clone(), (8, 6), ("sans-serif", 13))])
                } else {
                    chart.draw_series([EmptyElement::at(at)
                        + Circle::new((0, 0), 5, color.filled())
                        + Text::new(m.label.clone(), (8, -14), ("sans-serif", 13))])
                };
                drawn.map_err(|e| err(e.to_string()))?;
            }
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

/// Writes `<stem>-roc.svg` and `<stem>-pr.svg` beside `report`, and
/// `<stem>-dollars.svg` when the holdout has amounts; returns them.
pub fn write_beside(report: &Path, eval: &Evaluation) -> Result<Vec<PathBuf>> {
    let stem = report
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "report".into());
    let dir = report.parent().unwrap_or(Path::new("."));
    let (roc, pr, dollars) = super::curve_series(eval);
    let (roc_marks, pr_marks) = super::operating_points(eval);
    let mut written = Vec::new();
    let mut charts = vec![
        (
            "roc",
            chart(
                "ROC curve",
                "false-positive rate (log scale)",
                "recall",
                Axis::Log,
                &roc,
                &roc_marks,
            )?,
        ),
        (
            "pr",
            chart(
                "Precision-recall curve",
                "recall",
                "precision",
                Axis::Linear,
                &pr,
                &pr_marks,
            )?,
        ),
    ];
    if !dollars.is_empty() {
        charts.push((
            "dollars",
            chart(
                "Fraud amount caught against alerts",
                "share of rows flagged (log scale)",
                "dollar recall",
                Axis::Log,
                &dollars,
                &[],
            )?,
        ));
    }
    for (suffix, svg) in charts {
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
        let marks = [
            Mark {
                model: "candidate",
                x: 0.1,
                y: 0.8,
                label: "score >= 0.5".into(),
                budget: false,
            },
            Mark {
                model: "candidate",
                x: 0.05,
                y: 0.7,
                label: "alert budget: 90 alerts".into(),
                budget: true,
            },
        ];
        for axis in [Axis::Linear, Axis::Log] {
            let svg = chart(
                "ROC curve",
                "fpr",
                "recall",
                axis,
                &[("candidate", &a), ("production", &b)],
                &marks,
            )
            .unwrap();
            assert!(svg.starts_with("<svg"));
            assert!(
                svg.contains("ROC curve")
                    && svg.contains("candidate")
                    && svg.contains("production")
            );
            assert!(svg.matches("<polyline").count() >= 2, "one line per model");
            assert_eq!(svg.matches("<circle").count(), 1, "one operating point");
            assert!(svg.contains("score &gt;= 0.5"), "{svg}");
            assert!(svg.contains("alert budget: 90 alerts"), "{svg}");
            assert_eq!(svg.matches("<polygon").count(), 1, "one budget point");
        }
        // The log axis is labelled in rates, one per decade.
        let svg = chart("ROC", "fpr", "recall", Axis::Log, &[("candidate", &a)], &[]).unwrap();
        for tick in ["0.0001", "0.001", "0.01", "0.1"] {
            assert!(svg.contains(&format!("\n{tick}\n")), "{tick} in {svg}");
        }
        assert_eq!(Axis::Log.place(0.0), -4.0, "0 sits at the left edge");
        assert_eq!(Axis::Log.place(0.01), -2.0);
    }
}
