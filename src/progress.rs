//! What modelgate says on stderr while it works: a spinner on a terminal,
//! plain milestone lines in CI logs (`CI` or `GITHUB_ACTIONS`), nothing when
//! piped elsewhere or with `--quiet`, and timings with `--verbose`. stdout
//! carries only the report, so JSON stays parseable.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

/// How much to say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Quiet = 0,
    Normal = 1,
    Verbose = 2,
}

static LEVEL: AtomicU8 = AtomicU8::new(Level::Normal as u8);
static SPINNER: Mutex<Option<(ProgressBar, Instant)>> = Mutex::new(None);

pub fn set_level(level: Level) {
    LEVEL.store(level as u8, Ordering::Relaxed);
}

pub fn level() -> Level {
    match LEVEL.load(Ordering::Relaxed) {
        0 => Level::Quiet,
        2 => Level::Verbose,
        _ => Level::Normal,
    }
}

/// Colour for terminal output: only on a terminal, never with `NO_COLOR`.
pub fn color_enabled(stream_is_terminal: bool) -> bool {
    stream_is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// A step starts: a spinner on a terminal, a line in a log.
pub fn step(message: &str) {
    match level() {
        Level::Quiet => {}
        Level::Verbose => eprintln!("modelgate: {message}…"),
        Level::Normal if std::io::stderr().is_terminal() => {
            if let Ok(mut s) = SPINNER.lock() {
                let bar = s.take().map(|(b, _)| b).unwrap_or_else(|| {
                    let b = ProgressBar::new_spinner();
                    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {elapsed}") {
                        b.set_style(style);
                    }
                    b.enable_steady_tick(std::time::Duration::from_millis(100));
                    b
                });
                bar.set_message(message.to_string());
                *s = Some((bar, Instant::now()));
            }
        }
        Level::Normal if in_ci() => eprintln!("modelgate: {message}"),
        Level::Normal => {}
    }
}

/// CI runners set `CI=true` (GitHub Actions also `GITHUB_ACTIONS=true`).
fn in_ci() -> bool {
    ["CI", "GITHUB_ACTIONS"]
        .iter()
        .any(|k| std::env::var(k).is_ok_and(|v| v == "true" || v == "1"))
}

/// A step ended: in verbose mode with how long it took.
pub fn done(message: &str, ms: f64) {
    if let Ok(mut s) = SPINNER.lock()
        && let Some((bar, _)) = s.take()
    {
        bar.finish_and_clear();
    }
    if level() == Level::Verbose {
        eprintln!("modelgate: {message} ({ms:.0} ms)");
    }
}

/// A note the user should see unless `--quiet`.
pub fn note(message: &str) {
    if level() != Level::Quiet {
        if let Ok(mut s) = SPINNER.lock()
            && let Some((bar, _)) = s.take()
        {
            bar.finish_and_clear();
        }
        eprintln!("modelgate: {message}");
    }
}

/// Paints a text report for a terminal: PASS/FAIL banners and verdicts.
pub fn paint(text: &str) -> String {
    const GREEN: &str = "\x1b[32m";
    const RED: &str = "\x1b[31m";
    const YELLOW: &str = "\x1b[33m";
    const BOLD: &str = "\x1b[1m";
    const RESET: &str = "\x1b[0m";
    let mut out = String::with_capacity(text.len() + 256);
    for line in text.split_inclusive('\n') {
        let painted = if let Some(rest) = line.strip_prefix("modelgate run: PASS") {
            format!("modelgate run: {BOLD}{GREEN}PASS{RESET}{rest}")
        } else if let Some(rest) = line.strip_prefix("modelgate run: FAIL") {
            format!("modelgate run: {BOLD}{RED}FAIL{RESET}{rest}")
        } else if line.starts_with("PROMOTED") {
            format!("{BOLD}{GREEN}{}{RESET}\n", line.trim_end())
        } else if line.starts_with("NOT PROMOTED") {
            format!("{BOLD}{RED}{}{RESET}\n", line.trim_end())
        } else {
            // The gate table: `<id>  <verdict>  ...`.
            let mut words = line.split_whitespace();
            let verdict = words.nth(1);
            match verdict {
                Some(v @ ("pass" | "fail" | "warn" | "error")) if !line.starts_with(' ') => {
                    let color = match v {
                        "pass" => GREEN,
                        "warn" => YELLOW,
                        _ => RED,
                    };
                    let at = line.find(&format!(" {v} ")).map_or(0, |i| i + 1);
                    format!("{}{color}{v}{RESET}{}", &line[..at], &line[at + v.len()..])
                }
                _ => line.to_string(),
            }
        };
        out.push_str(&painted);
    }
    out
}

/// Writes stdout line by line, painted when colour is on; output stays
/// streaming (the demo prints as it goes) and plain when piped.
pub struct LineWriter<W: std::io::Write> {
    inner: W,
    color: bool,
    pending: Vec<u8>,
}

impl<W: std::io::Write> LineWriter<W> {
    pub fn new(inner: W, color: bool) -> Self {
        LineWriter {
            inner,
            color,
            pending: Vec::new(),
        }
    }
}

impl<W: std::io::Write> std::io::Write for LineWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if !self.color {
            return self.inner.write(buf);
        }
        self.pending.extend_from_slice(buf);
        if let Some(end) = self.pending.iter().rposition(|b| *b == b'\n') {
            let lines: Vec<u8> = self.pending.drain(..=end).collect();
            self.inner
                .write_all(paint(&String::from_utf8_lossy(&lines)).as_bytes())?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            self.inner
                .write_all(paint(&String::from_utf8_lossy(&rest)).as_bytes())?;
        }
        self.inner.flush()
    }
}

impl<W: std::io::Write> Drop for LineWriter<W> {
    fn drop(&mut self) {
        let _ = std::io::Write::flush(self);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paint_colors_banners_and_verdicts_only() {
        let text = "modelgate run: FAIL: `m` is blocked\n\ngate  verdict\nschema  pass  ok\ndrift   fail  ks 0.3 fail\n  FAIL missing_ratio\n";
        let p = paint(text);
        assert!(p.contains("\x1b[1m\x1b[31mFAIL\x1b[0m: `m`"));
        assert!(p.contains("schema  \x1b[32mpass\x1b[0m  ok"));
        assert!(
            p.contains("drift   \x1b[31mfail\x1b[0m  ks 0.3 fail"),
            "only the verdict column: {p}"
        );
        assert!(
            p.contains("  FAIL missing_ratio"),
            "observation lines untouched"
        );
        let plain: String = p
            .replace("\x1b[1m", "")
            .replace("\x1b[31m", "")
            .replace("\x1b[32m", "")
            .replace("\x1b[0m", "");
        assert_eq!(plain, text);
    }
}
