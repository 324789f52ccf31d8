//! A dataset as a source of columns, read one (or a few) at a time.
//!
//! Evaluation keeps only the label, scores, amount, weight and segment
//! columns in memory; everything else a run needs (profiles, drift tests,
//! integrity hashes, the columns a gate reads) is a pass over one column at
//! a time. A Parquet file is read column by column straight from the file,
//! since its layout is columnar: memory is one column per worker, not the
//! whole table, and a 100M-row holdout with its reference fits a CI
//! runner. CSV and NDJSON are row formats, where every column read would
//! parse the whole file again; they are read into memory once, as before.

use std::path::{Path, PathBuf};

use polars::prelude::*;

use super::{read_error, scan};
use crate::config::DataFormat;
use crate::error::{Error, Result};

/// Where a table's columns come from.
#[derive(Debug)]
enum Source {
    /// Parquet: each read selects the columns from the file.
    File { path: PathBuf, format: DataFormat },
    /// Everything in memory (row formats, and tests).
    Frame(DataFrame),
}

/// One dataset: its schema and row count up front, its columns on demand.
#[derive(Debug)]
pub struct Table {
    source: Source,
    schema: Schema,
    rows: usize,
}

impl Table {
    /// Opens a data file, refusing (once, by name) a column that is neither
    /// a number, text nor a time: every column is profiled for the gates.
    pub fn open(path: &Path, format: DataFormat) -> Result<Table> {
        let mut lf = scan(path, format)?;
        let schema = lf
            .collect_schema()
            .map_err(|e| read_error("cannot read the schema of", path, e))?;
        super::refuse_unreadable(path, &schema)?;
        let schema = (*schema).clone();
        if format != DataFormat::Parquet {
            let frame = lf
                .collect()
                .map_err(|e| read_error("cannot read", path, e))?;
            return Ok(Table::from_frame(frame));
        }
        // The row count is in the Parquet footer; no column is decoded.
        let counted = lf
            .select([len()])
            .collect()
            .map_err(|e| read_error("cannot read", path, e))?;
        let rows = counted
            .columns()
            .first()
            .and_then(|c| c.cast(&DataType::UInt64).ok())
            .and_then(|c| c.u64().ok().and_then(|ca| ca.get(0)))
            .unwrap_or(0) as usize;
        Ok(Table {
            source: Source::File {
                path: path.to_path_buf(),
                format,
            },
            schema,
            rows,
        })
    }

    /// A table over a frame already in memory.
    pub fn from_frame(frame: DataFrame) -> Table {
        Table {
            schema: (**frame.schema()).clone(),
            rows: frame.height(),
            source: Source::Frame(frame),
        }
    }

    /// A dataset known by its row count alone (a `modelgate.summary/v1`
    /// holdout): it has no column to read.
    pub fn counted(rows: usize) -> Table {
        Table {
            schema: Schema::default(),
            rows,
            source: Source::Frame(DataFrame::empty()),
        }
    }

    /// The file, or "the dataset" for a table built in memory.
    pub(crate) fn describe(&self) -> PathBuf {
        match &self.source {
            Source::File { path, .. } => path.clone(),
            Source::Frame(_) => PathBuf::from("the dataset"),
        }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn names(&self) -> Vec<String> {
        self.schema.iter_names().map(|n| n.to_string()).collect()
    }

    pub fn has(&self, name: &str) -> bool {
        self.schema.get(name).is_some()
    }

    pub fn dtype(&self, name: &str) -> Option<&DataType> {
        self.schema.get(name)
    }

    /// Whether columns are read from the file (the streaming tier) rather
    /// than held in memory.
    pub fn streams(&self) -> bool {
        matches!(self.source, Source::File { .. })
    }

    /// The named columns, in that order; a name the table lacks is an error
    /// naming the file and column.
    pub fn frame(&self, names: &[String]) -> Result<DataFrame> {
        match &self.source {
            Source::Frame(frame) => frame
                .select(names.iter().map(String::as_str))
                .map_err(|e| Error::polars("cannot select columns of", "the dataset", e)),
            Source::File { path, format } => {
                if let Some(missing) = names.iter().find(|n| !self.has(n)) {
                    return Err(Error::data(path, format!("no column `{missing}`")));
                }
                scan(path, *format)?
                    .select(names.iter().map(|n| col(n.as_str())).collect::<Vec<_>>())
                    .collect()
                    .map_err(|e| read_error("cannot read", path, e))
            }
        }
    }

    /// One column.
    pub fn column(&self, name: &str) -> Result<Column> {
        let frame = self.frame(&[name.to_string()])?;
        frame
            .into_columns()
            .into_iter()
            .next()
            .ok_or_else(|| Error::data(self.describe(), format!("no column `{name}`")))
    }
}

/// `f` over `items` on at most `workers` threads, each taking the next
/// item when it is done with its last, in item order.
///
/// Why not a rayon `par_iter`: a rayon worker that waits (on a `join`, or
/// on polars' own pool while a column is read) steals more tasks from its
/// pool meanwhile, so a parallel iterator over columns had several columns
/// per thread in memory at once (at 100M rows, 14 GB instead of 4 GB).
/// Here a worker holds one item at a time, whatever `f` waits on.
pub fn bounded_map<T: Sync, R: Send>(
    items: &[T],
    workers: usize,
    f: impl Fn(&T) -> Result<R> + Sync,
) -> Result<Vec<R>> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let workers = workers.clamp(1, items.len().max(1));
    let mut done: Vec<(usize, Result<R>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        let r = f(item);
                        let failed = r.is_err();
                        out.push((i, r));
                        if failed {
                            // Stop the others at their next item.
                            next.store(items.len(), Ordering::Relaxed);
                            break;
                        }
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    if done.len() < items.len() && done.iter().all(|(_, r)| r.is_ok()) {
        return Err(Error::Data {
            path: PathBuf::from("the dataset"),
            message: "a worker reading columns stopped unexpectedly".into(),
        });
    }
    done.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parquet_columns_come_from_the_file_and_match_the_frame() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let mut df = df!("x" => [1.5, f64::NAN, 3.0], "c" => [Some("a"), None, Some("b")]).unwrap();
        let file = std::fs::File::create(&path).unwrap();
        ParquetWriter::new(file).finish(&mut df).unwrap();
        let t = Table::open(&path, DataFormat::Parquet).unwrap();
        assert!(t.streams());
        assert_eq!(t.rows(), 3);
        assert_eq!(t.names(), ["x", "c"]);
        let c = t.column("c").unwrap();
        assert_eq!(c.null_count(), 1);
        assert!(
            t.column("x")
                .unwrap()
                .equals_missing(df.column("x").unwrap())
        );
        let err = t.column("nope").unwrap_err().to_string();
        assert!(err.contains("t.parquet") && err.contains("`nope`"), "{err}");
    }

    #[test]
    fn bounded_map_keeps_order_and_stops_at_an_error() {
        let items: Vec<u32> = (0..100).collect();
        assert_eq!(
            bounded_map(&items, 3, |x| Ok(x * 2)).unwrap(),
            (0..100).map(|x| x * 2).collect::<Vec<_>>()
        );
        let err = bounded_map(&items, 2, |x| {
            if *x == 40 {
                Err(Error::Usage("forty".into()))
            } else {
                Ok(*x)
            }
        });
        assert!(err.unwrap_err().to_string().contains("forty"));
    }
}
