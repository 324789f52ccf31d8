//! Finds the line at fault where polars does not say: a CSV record with more
//! fields than the header (polars drops the extra fields when it reads only
//! some columns, and otherwise names only its `truncate_ragged_lines`
//! option) or an NDJSON line that is not JSON (polars gives an offset in its
//! parse buffer). The CSV check runs once per file before polars reads it;
//! the NDJSON one only on the error path. Both stream the file. The
//! CSV scan is hand-written because it needs only RFC 4180 quoting to count
//! fields, which no maintained crate exposes without parsing the values.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::config::DataFormat;

/// A one-line description of the first bad line, or `None` when the file
/// looks well-formed to this scan (then polars' own error stands).
pub fn bad_line(path: &Path, format: DataFormat, polars_message: &str) -> Option<String> {
    match format {
        DataFormat::Csv | DataFormat::CsvGz
            if polars_message.contains("found more fields than defined") =>
        {
            ragged_csv_record(open(path, format == DataFormat::CsvGz)?)
        }
        DataFormat::NdJson => bad_json_line(open(path, false)?),
        _ => None,
    }
}

/// Whether a CSV file has a record with more fields than its header, read
/// once per file and process. polars checks this only for the columns it
/// parses: with a projection it drops a ragged row's extra fields silently.
pub fn ragged_csv(path: &Path, gz: bool) -> Option<String> {
    static CHECKED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
    let key = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    if CHECKED.lock().is_ok_and(|c| c.contains(&key)) {
        return None;
    }
    let found = ragged_csv_record(open(path, gz)?);
    if found.is_none()
        && let Ok(mut c) = CHECKED.lock()
    {
        c.push(key);
    }
    found
}

fn open(path: &Path, gz: bool) -> Option<Box<dyn BufRead>> {
    let file = std::fs::File::open(path).ok()?;
    Some(if gz {
        Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(file)))
    } else {
        Box::new(BufReader::new(file))
    })
}

/// The first record with more fields than the header, counting commas
/// outside double quotes (a quoted field may hold commas and newlines).
fn ragged_csv_record(reader: Box<dyn BufRead>) -> Option<String> {
    let (mut line, mut record_line) = (1u64, 1u64);
    let (mut fields, mut header) = (1usize, None);
    let mut in_quotes = false;
    let mut at_record_start = true;
    for byte in reader.bytes() {
        let b = byte.ok()?;
        if at_record_start {
            record_line = line;
            at_record_start = false;
        }
        match b {
            b'"' => in_quotes = !in_quotes,
            b',' if !in_quotes => fields += 1,
            b'\n' => {
                line += 1;
                if in_quotes {
                    continue;
                }
                match header {
                    None => header = Some(fields),
                    Some(n) if fields > n => {
                        return Some(format!(
                            "line {record_line} has {fields} fields but the header has {n}; \
                             modelgate does not drop fields, so fix the row or quote its commas"
                        ));
                    }
                    Some(_) => {}
                }
                fields = 1;
                at_record_start = true;
            }
            _ => {}
        }
    }
    match header {
        Some(n) if fields > n && !at_record_start => Some(format!(
            "line {record_line} has {fields} fields but the header has {n}; \
             modelgate does not drop fields, so fix the row or quote its commas"
        )),
        _ => None,
    }
}

/// The first non-empty line that is not one JSON value.
fn bad_json_line(reader: Box<dyn BufRead>) -> Option<String> {
    for (i, line) in reader.lines().enumerate() {
        let line = line.ok()?;
        if line.trim().is_empty() {
            continue;
        }
        if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&line) {
            let what = e.to_string();
            let what = what.split(" at line ").next().unwrap_or(&what);
            return Some(format!(
                "line {} is not valid JSON: {what} at column {}",
                i + 1,
                e.column()
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(text: &str) -> Box<dyn BufRead> {
        Box::new(std::io::Cursor::new(text.as_bytes().to_vec()))
    }

    #[test]
    fn a_ragged_csv_record_is_found_by_its_line() {
        let csv = "a,b,c\n1,2,3\n\"x,\ny\",2,3\n4,5,6,7\n";
        let m = ragged_csv_record(reader(csv)).unwrap();
        assert!(
            m.starts_with("line 5 has 4 fields but the header has 3"),
            "{m}"
        );
        assert_eq!(ragged_csv_record(reader("a,b\n1,2\n\"3,4\",5\n")), None);
        let last = ragged_csv_record(reader("a,b\n1,2,3")).unwrap();
        assert!(last.starts_with("line 2 has 3 fields"), "{last}");
    }

    #[test]
    fn a_broken_ndjson_line_is_found_by_its_line() {
        let nd = "{\"a\":1}\n\n{\"a\":2\n{\"a\":3}\n";
        let m = bad_json_line(reader(nd)).unwrap();
        assert!(
            m.starts_with("line 3 is not valid JSON: EOF while parsing"),
            "{m}"
        );
        assert_eq!(bad_json_line(reader("{\"a\":1}\n[2]\n")), None);
    }
}
