//! The fuzz targets of `modelgate::fuzz` in every test run: each seed in
//! `fuzz/corpus/<target>/` is replayed (and must be accepted, unless its
//! name starts with `bad-`; a `crash-` file, which once crashed the
//! target, need only not crash), then a seeded mutation pass runs over the
//! seeds. A panic fails the test and names the input, saved under
//! `target/fuzz-failures/` to become a regression seed.
//!
//! The mutator is written here because libFuzzer's needs its runtime and a
//! build that instruments every crate, which would rebuild polars, wasmtime
//! and tract a second time in CI. This pass is not coverage-guided; it
//! keeps the targets working between libFuzzer sessions (`fuzz/README.md`)
//! and catches the shallow crashes: cut files, flipped bytes, spliced
//! fields, extreme numbers. `MODELGATE_FUZZ_ITERATIONS` sets its length and
//! `MODELGATE_FUZZ_SEED` starts another stream.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use crate::splitmix::SplitMix64;
use crate::util::repo;

/// Mutations per target in CI: about a minute of work in all, in parallel.
const DEFAULT_ITERATIONS: usize = 600;

/// Numbers that break unchecked arithmetic and casts.
const EXTREMES: &[&str] = &[
    "0",
    "-1",
    "1e+30",
    "-1e308",
    "1e309",
    "NaN",
    "inf",
    "-inf",
    "4294967296",
    "2147483648",
    "-9223372036854775809",
    "18446744073709551616",
    "0.0000001",
    "99999999999999999999",
];

fn seeds(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = repo().join("fuzz/corpus").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect()
}

/// One random edit, in the spirit of libFuzzer's mutators.
fn mutate(rng: &mut SplitMix64, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    let pick = |rng: &mut SplitMix64, n: usize| (rng.next_u64() % n.max(1) as u64) as usize;
    for _ in 0..1 + pick(rng, 4) {
        match pick(rng, 8) {
            // Flip a bit.
            0 if !out.is_empty() => {
                let i = pick(rng, out.len());
                out[i] ^= 1 << pick(rng, 8);
            }
            // A structural or interesting byte.
            1 if !out.is_empty() => {
                let i = pick(rng, out.len());
                out[i] = b"\0\n\r,\"'{}[]:-.#&*!|>\\\xff\x7f"[pick(rng, 22)];
            }
            // Cut a range out.
            2 if !out.is_empty() => {
                let i = pick(rng, out.len());
                let n = pick(rng, (out.len() - i).min(64)) + 1;
                out.drain(i..(i + n).min(out.len()));
            }
            // Repeat a range.
            3 if !out.is_empty() => {
                let i = pick(rng, out.len());
                let n = (pick(rng, 32) + 1).min(out.len() - i);
                let chunk = out[i..i + n].to_vec();
                for _ in 0..1 + pick(rng, 16) {
                    out.splice(i..i, chunk.iter().copied());
                }
            }
            // Splice in part of another seed.
            4 if !other.is_empty() => {
                let j = pick(rng, other.len());
                let n = pick(rng, (other.len() - j).min(128)) + 1;
                let i = pick(rng, out.len() + 1);
                out.splice(i..i, other[j..j + n].iter().copied());
            }
            // Replace a number with an extreme one.
            5 => {
                let digits: Vec<usize> = (0..out.len())
                    .filter(|&i| out[i].is_ascii_digit())
                    .collect();
                if !digits.is_empty() {
                    let start = digits[pick(rng, digits.len())];
                    let mut end = start;
                    while end < out.len()
                        && (out[end].is_ascii_alphanumeric() || b".+-".contains(&out[end]))
                    {
                        end += 1;
                    }
                    out.splice(start..end, EXTREMES[pick(rng, EXTREMES.len())].bytes());
                }
            }
            // Truncate.
            6 => {
                let n = pick(rng, out.len() + 1);
                out.truncate(n);
            }
            // Overwrite a little-endian length-sized field with a big value.
            _ if out.len() >= 4 => {
                let i = pick(rng, out.len() - 3);
                let v = [0xffff_ffffu32, 0x8000_0000, 0x7fff_ffff, 0x0001_0000][pick(rng, 4)];
                out[i..i + 4].copy_from_slice(&v.to_le_bytes());
            }
            _ => {}
        }
    }
    out
}

fn save_failure(target: &str, input: &[u8]) -> PathBuf {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target"))
        .join("fuzz-failures");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{target}-{}", &crate::util::sha256(input)[..16]));
    std::fs::write(&path, input).unwrap();
    path
}

fn run(target: &str, input: &[u8]) -> bool {
    let f = modelgate::fuzz::TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .unwrap_or_else(|| panic!("no fuzz target {target}"))
        .1;
    match catch_unwind(AssertUnwindSafe(|| f(input))) {
        Ok(accepted) => accepted,
        Err(_) => {
            let saved = save_failure(target, input);
            panic!(
                "fuzz target {target} panicked on {} bytes, saved to {}",
                input.len(),
                saved.display()
            );
        }
    }
}

fn replay_and_mutate(target: &str, seed: u64) {
    let seeds = seeds(target);
    assert!(!seeds.is_empty(), "fuzz/corpus/{target} has no seeds");
    for (path, bytes) in &seeds {
        let name = Path::new(path).file_name().unwrap().to_string_lossy();
        let bad = name.starts_with("bad-");
        // An input that once crashed the target only has to stop crashing.
        if name.starts_with("crash-") {
            run(target, bytes);
            continue;
        }
        assert_eq!(
            run(target, bytes),
            !bad,
            "{}: a seed must be {}",
            path.display(),
            if bad { "refused" } else { "accepted" }
        );
    }
    let iterations = std::env::var("MODELGATE_FUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_ITERATIONS);
    let extra: u64 = std::env::var("MODELGATE_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut rng = SplitMix64(seed ^ extra.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut accepted = 0;
    for _ in 0..iterations {
        let a = &seeds[(rng.next_u64() % seeds.len() as u64) as usize].1;
        let b = &seeds[(rng.next_u64() % seeds.len() as u64) as usize].1;
        let input = mutate(&mut rng, a, b);
        accepted += usize::from(run(target, &input));
    }
    // Mutants that still parse are the ones that reach deep code; a pass
    // where none does tests only the first error path.
    assert!(
        iterations < 100 || accepted > 0,
        "{target}: no mutant of the seeds was accepted in {iterations}"
    );
}

#[test]
fn fuzz_config() {
    replay_and_mutate("config", 1);
}

#[test]
fn fuzz_csv() {
    replay_and_mutate("csv", 2);
}

#[test]
fn fuzz_ndjson() {
    replay_and_mutate("ndjson", 3);
}

#[test]
fn fuzz_xgboost() {
    replay_and_mutate("xgboost", 4);
}

#[test]
fn fuzz_lightgbm() {
    replay_and_mutate("lightgbm", 5);
}

#[test]
fn fuzz_onnx() {
    replay_and_mutate("onnx", 6);
}

#[test]
fn fuzz_gate_outcome() {
    replay_and_mutate("gate_outcome", 7);
}

#[test]
fn every_target_has_a_test_here_and_a_libfuzzer_binary() {
    let here = std::fs::read_to_string(repo().join("tests/fuzz.rs")).unwrap();
    let manifest = std::fs::read_to_string(repo().join("fuzz/Cargo.toml")).unwrap();
    for (name, _) in modelgate::fuzz::TARGETS {
        assert!(
            here.contains(&format!("replay_and_mutate(\"{name}\"")),
            "{name}"
        );
        assert!(manifest.contains(&format!("name = \"{name}\"")), "{name}");
        assert!(
            repo().join(format!("fuzz/fuzz_targets/{name}.rs")).exists(),
            "{name}"
        );
    }
}
