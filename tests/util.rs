//! The test harness: a small [`Test`] builder that drives the real
//! `modelgate` binary in a directory with a clean environment (as ripgrep's
//! `tests/util.rs` and just's `tests/test.rs` do), and the fixtures several
//! test modules share. Every run also checks that nothing panicked.

use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

/// The binary under test.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_modelgate"))
}

/// The repository root.
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `modelgate` in `dir`: a clean environment with only
/// `MODELGATE_CACHE_DIR=<dir>/cache`, expecting exit 0 unless told.
pub fn modelgate(dir: &Path) -> Test {
    Test::in_dir(dir)
}

/// What a run must show.
#[derive(Debug, Clone)]
enum Expect {
    Contains(String),
    Lacks(String),
    Is(String),
}

/// One run of the binary, built up then [`Test::run`].
#[derive(Debug, Clone)]
#[must_use = "a Test does nothing until `.run()`"]
pub struct Test {
    current_dir: PathBuf,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    status: Option<i32>,
    stdout: Vec<Expect>,
    stderr: Vec<Expect>,
    one_line_error: bool,
}

/// What a run printed, and how it ended.
#[derive(Debug)]
pub struct Output {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
    /// The process's peak resident set, in KiB.
    pub peak_rss_kib: u64,
    /// From spawn to exit.
    pub wall: std::time::Duration,
}

impl Output {
    /// stdout parsed as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

impl Test {
    pub fn in_dir(dir: &Path) -> Test {
        Test {
            current_dir: dir.to_path_buf(),
            args: Vec::new(),
            env: vec![("MODELGATE_CACHE_DIR".into(), dir.join("cache").into())],
            status: Some(0),
            stdout: Vec::new(),
            stderr: Vec::new(),
            one_line_error: false,
        }
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Test {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Test
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Sets a variable; a later call for the same name wins.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Test {
        let key = key.as_ref().to_owned();
        self.env.retain(|(k, _)| *k != key);
        self.env.push((key, value.as_ref().to_owned()));
        self
    }

    pub fn envs<K, V>(mut self, vars: impl IntoIterator<Item = (K, V)>) -> Test
    where
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        for (k, v) in vars {
            self = self.env(k, v);
        }
        self
    }

    /// The exit code the run must end with (0 by default).
    pub fn status(mut self, code: i32) -> Test {
        self.status = Some(code);
        self
    }

    /// Any exit code: the caller checks [`Output::status`] itself.
    pub fn any_status(mut self) -> Test {
        self.status = None;
        self
    }

    pub fn stdout_has(mut self, text: impl Into<String>) -> Test {
        self.stdout.push(Expect::Contains(text.into()));
        self
    }

    pub fn stdout_lacks(mut self, text: impl Into<String>) -> Test {
        self.stdout.push(Expect::Lacks(text.into()));
        self
    }

    pub fn stderr_has(mut self, text: impl Into<String>) -> Test {
        self.stderr.push(Expect::Contains(text.into()));
        self
    }

    pub fn stderr_lacks(mut self, text: impl Into<String>) -> Test {
        self.stderr.push(Expect::Lacks(text.into()));
        self
    }

    /// The error contract: exit 2, nothing on stdout, one line on stderr.
    pub fn fails_with_one_line(mut self) -> Test {
        self.status = Some(2);
        self.one_line_error = true;
        self.stdout.push(Expect::Is(String::new()));
        self
    }

    pub fn run(self) -> Output {
        let start = std::time::Instant::now();
        #[expect(
            clippy::zombie_processes,
            reason = "wait_with_peak_rss reaps it with wait4, which keeps its resource usage"
        )]
        let mut child = Command::new(binary())
            .args(&self.args)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&self.current_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary().display()));
        let drain = |mut pipe: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                pipe.read_to_end(&mut bytes).map(|_| bytes)
            })
        };
        let stdout = drain(Box::new(child.stdout.take().unwrap()));
        let stderr = drain(Box::new(child.stderr.take().unwrap()));
        let (status, peak_rss_kib) = wait_with_peak_rss(&child);
        let wall = start.elapsed();
        let text = |t: std::thread::JoinHandle<std::io::Result<Vec<u8>>>| {
            String::from_utf8_lossy(&t.join().unwrap().unwrap()).into_owned()
        };
        let output = Output {
            status,
            stdout: text(stdout),
            stderr: text(stderr),
            peak_rss_kib,
            wall,
        };
        let context = || {
            format!(
                "modelgate {:?}\nexit {}\n--- stdout\n{}\n--- stderr\n{}",
                self.args, output.status, output.stdout, output.stderr
            )
        };
        assert!(!output.stderr.contains("panicked"), "{}", context());
        if let Some(code) = self.status {
            assert_eq!(output.status, code, "{}", context());
        }
        if self.one_line_error {
            assert_eq!(
                output.stderr.trim_end().lines().count(),
                1,
                "a one-line error: {}",
                context()
            );
        }
        for (name, text, expects) in [
            ("stdout", &output.stdout, &self.stdout),
            ("stderr", &output.stderr, &self.stderr),
        ] {
            for e in expects {
                match e {
                    Expect::Contains(s) => {
                        assert!(
                            text.contains(s.as_str()),
                            "{name} lacks {s:?}: {}",
                            context()
                        )
                    }
                    Expect::Lacks(s) => {
                        assert!(
                            !text.contains(s.as_str()),
                            "{name} has {s:?}: {}",
                            context()
                        )
                    }
                    Expect::Is(s) => assert_eq!(text, s, "{name}: {}", context()),
                }
            }
        }
        output
    }
}

/// Waits for `child` and returns its exit code (-1 for a signal) and peak
/// RSS in KiB. std's `wait` drops the child's resource usage; `wait4`
/// keeps it, for this one child, whatever else the tests run in parallel.
#[expect(
    unsafe_code,
    reason = "wait4 is the only call that gives one child's peak RSS"
)]
fn wait_with_peak_rss(child: &std::process::Child) -> (i32, u64) {
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `pid` is our own child, not yet waited for (std waits only
    // when asked); `status` and `usage` are live locals wait4 writes into.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, usage.as_mut_ptr()) };
    assert_eq!(waited, pid, "wait4: {}", std::io::Error::last_os_error());
    // SAFETY: wait4 returned the child, so it filled `usage`; all-zero was
    // already a valid rusage.
    let usage = unsafe { usage.assume_init() };
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    (code, u64::try_from(usage.ru_maxrss).unwrap_or(0))
}

/// Writes a file, creating its directory.
pub fn write(path: &Path, text: impl AsRef<[u8]>) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(path, text).unwrap();
}

pub fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

pub fn sha256_file(path: &Path) -> String {
    sha256(&std::fs::read(path).unwrap())
}

/// `modelgate demo data` into `dir/out` (seeded; `extra` are more flags).
pub fn demo_data(dir: &Path, out: &str, rows: usize, seed: u64, extra: &[&str]) {
    modelgate(dir)
        .args(["demo", "data", "--out", out])
        .args(["--rows", &rows.to_string(), "--seed", &seed.to_string()])
        .args(extra)
        .run();
}
