//! JUnit XML: one test case per gate, so CI dashboards show gates as tests.
//! `fail` is a failure, `error` an error, `warn` a passing case with output.

use std::fmt::Write as _;

use crate::decision::Decision;
use crate::gates::Verdict;

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 forbids most control characters.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

/// Renders the decision as a JUnit `<testsuite>`.
pub fn render(d: &Decision) -> String {
    let count = |v: Verdict| d.gates.iter().filter(|g| g.verdict == v).count();
    let seconds: f64 = d.gates.iter().map(|g| g.duration_ms).sum::<f64>() / 1e3;
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuite name=\"modelgate {}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"0\" time=\"{seconds:.3}\">",
        escape(&d.model),
        d.gates.len(),
        count(Verdict::Fail),
        count(Verdict::Error)
    );
    for g in &d.gates {
        let _ = write!(
            out,
            "  <testcase classname=\"modelgate.{}\" name=\"{}\" time=\"{:.3}\"",
            escape(&d.model),
            escape(&g.id),
            g.duration_ms / 1e3
        );
        let details: String = g
            .observations
            .iter()
            .map(|o| {
                format!(
                    "{} {} = {}{}\n",
                    if o.passed { "ok  " } else { "FAIL" },
                    o.name,
                    o.observed.map_or("-".into(), |v| v.to_string()),
                    o.threshold.map_or(String::new(), |t| format!(
                        " ({} {t})",
                        o.comparison.symbol()
                    ))
                )
            })
            .collect();
        match g.verdict {
            Verdict::Pass => out.push_str("/>\n"),
            Verdict::Warn => {
                let _ = writeln!(
                    out,
                    ">\n    <system-out>warn: {}\n{}</system-out>\n  </testcase>",
                    escape(&g.summary),
                    escape(&details)
                );
            }
            Verdict::Fail => {
                let kind = if g.blocking {
                    "gate-failed"
                } else {
                    "gate-failed-nonblocking"
                };
                let _ = writeln!(
                    out,
                    ">\n    <failure message=\"{}\" type=\"{kind}\">{}</failure>\n  </testcase>",
                    escape(&g.summary),
                    escape(&details)
                );
            }
            Verdict::Error => {
                let _ = writeln!(
                    out,
                    ">\n    <error message=\"{}\" type=\"gate-error\">{}</error>\n  </testcase>",
                    escape(&g.summary),
                    escape(&details)
                );
            }
        }
    }
    out.push_str("</testsuite>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_control_characters() {
        assert_eq!(escape("a<b & \"c\"\u{1}"), "a&lt;b &amp; &quot;c&quot;?");
    }
}
