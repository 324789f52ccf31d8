//! Hostile gates, built here from tiny crates against the SDK (needs the
//! wasm32-wasip2 target, which .ci/run installs). Each must end as a gate
//! `error` with a clear reason, or be held within its caps, while the other
//! gates still run and the run exits 1. The snooping gate reports what it
//! saw, and the test checks it saw no file, no variable and no network.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::sync::OnceLock;

use serde_json::Value;
use tempfile::TempDir;

use crate::util::{demo_data, modelgate, repo, write};

/// What a gate returns when it is not the point of the test.
const PASS: &str = r#"Ok(Outcome::new(Verdict::Pass, "passed", vec![]))"#;
/// A well-behaved `config_schema()`.
const SCHEMA: &str = "serde_json::json!({})";

/// (crate name, body of `evaluate`, body of `config_schema`, called by `metadata()`).
const HOSTILE: &[(&str, &str, &str)] = &[
    ("spin", "loop { std::hint::black_box(0u8); }", SCHEMA),
    (
        "hog",
        "let mut v: Vec<Vec<u8>> = Vec::new(); loop { v.push(std::hint::black_box(vec![1u8; 1 << 20])); }",
        SCHEMA,
    ),
    ("crash", r#"panic!("deliberate crash in a hostile gate")"#, SCHEMA),
    (
        "recurse",
        "fn down(n: u64) -> u64 { if n == 0 { 0 } else { std::hint::black_box(down(std::hint::black_box(n - 1))) + 1 } }
         Ok(Outcome::new(Verdict::Pass, format!(\"{}\", down(u64::MAX >> 1)), vec![]))",
        SCHEMA,
    ),
    ("flood", r#"Ok(Outcome::new(Verdict::Pass, "x".repeat(2 << 20), vec![]))"#, SCHEMA),
    (
        "snoop",
        r#"let port = config.get("port").and_then(|p| p.as_u64()).unwrap_or(9);
        let file = std::fs::read_to_string("/etc/passwd").map(|s| format!("read {} bytes", s.len())).unwrap_or_else(|e| format!("denied ({e})"));
        let dir = std::fs::read_dir("/").map(|d| format!("listed {}", d.count())).unwrap_or_else(|e| format!("denied ({e})"));
        let cwd = std::fs::read_dir(".").map(|d| format!("listed {}", d.count())).unwrap_or_else(|e| format!("denied ({e})"));
        let env = std::env::vars().count();
        let token = std::env::var("GITHUB_TOKEN").is_ok();
        let net = std::net::TcpStream::connect(("127.0.0.1", port as u16)).map(|_| "connected".to_string()).unwrap_or_else(|e| format!("denied ({e})"));
        Err(format!("saw file=[{file}] root=[{dir}] cwd=[{cwd}] env={env} token={token} net=[{net}]"))"#,
        SCHEMA,
    ),
    // A sleep waits on a host timer, where epoch interruption cannot reach.
    (
        "sleeper",
        r#"std::thread::sleep(std::time::Duration::from_secs(3600)); Ok(Outcome::new(Verdict::Pass, "woke up", vec![]))"#,
        SCHEMA,
    ),
    ("poller", "loop { std::thread::sleep(std::time::Duration::from_millis(1)); }", SCHEMA),
    // One 48 MiB log line, then a hundred 1 MiB ones.
    (
        "loud",
        r#"log(LogLevel::Info, "x".repeat(48 << 20)); for _ in 0..100 { log(LogLevel::Info, "y".repeat(1 << 20)); } Ok(Outcome::new(Verdict::Pass, "said a lot", vec![]))"#,
        SCHEMA,
    ),
    ("shout", r#"Err("e".repeat(48 << 20))"#, SCHEMA),
    // `metadata()` is an export too: its limits are the gate's.
    ("meta-spin", PASS, "loop { std::hint::black_box(0u8); }"),
    ("meta-crash", PASS, r#"panic!("deliberate crash in metadata")"#),
];

/// Builds the hostile gates once per test run; returns the release dir.
fn build() -> &'static PathBuf {
    static OUT: OnceLock<PathBuf> = OnceLock::new();
    OUT.get_or_init(|| {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("hostile-gates");
        let sdk = repo().join("gates/sdk");
        let wit = fs::read_to_string(repo().join("gates/wit/gate.wit")).unwrap();
        let mut members = vec!["\"wit-v2\"".to_string()];
        for (name, body, schema) in HOSTILE {
            members.push(format!("\"{name}\""));
            write(
                &root.join(name).join("Cargo.toml"),
                format!(
                    "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n[lib]\ncrate-type = [\"cdylib\"]\n\
                     [dependencies]\nmodelgate-gate-sdk = {{ path = {sdk:?} }}\n"
                ),
            );
            write(
                &root.join(name).join("src/lib.rs"),
                format!(
                    "use modelgate_gate_sdk::*;\nstruct G;\nimpl Gate for G {{\n type Config = serde_json::Value;\n\
                     const NAME: &'static str = \"{name}\";\n const VERSION: &'static str = \"0.0.1\";\n\
                     const DESCRIPTION: &'static str = \"hostile\";\n\
                     fn config_schema() -> serde_json::Value {{ {schema} }}\n\
                     // Hostile bodies never return or ignore their config on purpose.\n\
                     #[allow(unreachable_code, unused_variables)]\n\
                     fn evaluate(config: serde_json::Value) -> Result<Outcome, String> {{ {body} }}\n}}\nexport_gate!(G);\n"
                ),
            );
        }
        // A gate built against a future, incompatible version of the WIT.
        write(&root.join("wit-v2/wit/gate.wit"), wit.replace("@0.1.0", "@0.2.0"));
        write(
            &root.join("wit-v2/Cargo.toml"),
            "[package]\nname = \"wit-v2\"\nversion = \"0.1.0\"\nedition = \"2024\"\n[lib]\ncrate-type = [\"cdylib\"]\n\
             [dependencies]\nwit-bindgen = { version = \"0.61\", default-features = false, features = [\"macros\", \"realloc\", \"std\"] }\n",
        );
        write(
            &root.join("wit-v2/src/lib.rs"),
            "wit_bindgen::generate!({ path: \"wit\", world: \"gate\" });\n\
             use modelgate::gate::types::*;\nstruct G;\nimpl Guest for G {\n\
             fn metadata() -> Metadata { Metadata { name: \"v2\".into(), version: \"2.0.0\".into(), description: String::new(), config_schema: \"{}\".into() } }\n\
             fn evaluate() -> Result<Outcome, String> { let c = modelgate::gate::host::config(); Ok(Outcome { verdict: Verdict::Pass, summary: format!(\"from the future {c}\"), observations: vec![] }) }\n}\nexport!(G);\n",
        );
        write(
            &root.join("Cargo.toml"),
            format!(
                "[workspace]\nresolver = \"3\"\nmembers = [{}]\n[profile.release]\nopt-level = 1\npanic = \"abort\"\n",
                members.join(", ")
            ),
        );
        let status = Process::new(env!("CARGO"))
            .args(["build", "--release", "--target", "wasm32-wasip2", "--manifest-path"])
            .arg(root.join("Cargo.toml"))
            .env("CARGO_TARGET_DIR", root.join("target"))
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building the hostile gates failed (is the wasm32-wasip2 target installed?)");
        root.join("target/wasm32-wasip2/release")
    })
}

#[test]
fn hostile_gates_end_as_errors_and_the_run_goes_on() {
    let out_dir = build();
    let t = TempDir::new().unwrap();
    let p = t.path();
    demo_data(p, ".", 5000, 7, &[]);
    // A listener on loopback, so "denied" means the sandbox, not an empty port.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let gate = |name: &str| {
        out_dir
            .join(format!("{}.wasm", name.replace('-', "_")))
            .display()
            .to_string()
    };
    let config = format!(
        "model: m\nholdout: {{ path: holdout.parquet, label: is_fraud }}\ncandidate: {{ scores: {{ column: score_candidate }} }}\ngates:\n\
         - {{ uses: {spin}, timeout: 1s }}\n\
         - {{ uses: {hog}, memory: 64MiB }}\n\
         - {{ uses: {crash} }}\n\
         - {{ uses: {recurse} }}\n\
         - {{ uses: {flood} }}\n\
         - {{ uses: {snoop}, with: {{ port: {port} }} }}\n\
         - {{ uses: {v2} }}\n\
         - {{ uses: {sleeper}, timeout: 1s }}\n\
         - {{ uses: {poller}, timeout: 1s }}\n\
         - {{ uses: {loud} }}\n\
         - {{ uses: {shout} }}\n\
         - {{ uses: {meta_spin}, timeout: 1s }}\n\
         - {{ uses: {meta_crash} }}\n\
         - {{ uses: 'builtin:class-balance', with: {{ min_positives: 1 }} }}\n",
        sleeper = gate("sleeper"),
        poller = gate("poller"),
        loud = gate("loud"),
        shout = gate("shout"),
        meta_spin = gate("meta-spin"),
        meta_crash = gate("meta-crash"),
        spin = gate("spin"),
        hog = gate("hog"),
        crash = gate("crash"),
        recurse = gate("recurse"),
        flood = gate("flood"),
        snoop = gate("snoop"),
        v2 = gate("wit-v2"),
    );
    fs::write(p.join("modelgate.yaml"), config).unwrap();
    let out = modelgate(p)
        .env("GITHUB_TOKEN", "ghs_secret_that_must_not_leak")
        .args(["run", "--format", "json"])
        .status(1)
        .run();
    // The host's own bounds while gates misbehave, generous but firm: a
    // gate that escaped its memory limit (64 MiB for `hog`, the default for
    // the others) or its timeouts would break them. Measured on a 2-core
    // machine: 239 MiB and 4.9 s.
    eprintln!(
        "hostile run: peak RSS {} MiB, wall {:.1} s",
        out.peak_rss_kib >> 10,
        out.wall.as_secs_f64()
    );
    assert!(
        out.peak_rss_kib < 768 << 10,
        "peak RSS {} MiB",
        out.peak_rss_kib >> 10
    );
    assert!(
        out.wall < std::time::Duration::from_secs(60),
        "{:?}",
        out.wall
    );
    let d = out.json();
    let by_id = |id: &str| -> &Value {
        d["gates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["id"] == id)
            .unwrap_or_else(|| panic!("no gate {id}: {d}"))
    };
    let summary = |id: &str| by_id(id)["summary"].as_str().unwrap().to_string();
    for id in [
        "spin",
        "hog",
        "crash",
        "recurse",
        "flood",
        "snoop",
        "wit_v2",
        "poller",
        "shout",
        "meta_spin",
        "meta_crash",
    ] {
        assert_eq!(by_id(id)["verdict"], "error", "{id}: {}", by_id(id));
        assert_eq!(by_id(id)["blocking"], true);
    }
    // The kind of each failure is a field, not a prefix to parse.
    for (id, kinds) in [
        ("spin", &["timeout"][..]),
        ("hog", &["memory"]),
        ("crash", &["trap"]),
        ("recurse", &["stack_overflow", "trap"]),
        ("flood", &["bad_outcome"]),
        ("snoop", &["reported"]),
        ("wit_v2", &["load"]),
        ("poller", &["timeout"]),
        ("shout", &["reported"]),
        ("meta_spin", &["timeout"]),
        ("meta_crash", &["trap"]),
    ] {
        let kind = by_id(id)["error_kind"].as_str().unwrap_or("(none)");
        assert!(kinds.contains(&kind), "{id}: error_kind {kind}");
    }
    assert!(by_id("class-balance").get("error_kind").is_none());
    assert!(
        summary("spin").contains("timeout") && summary("spin").contains("1s"),
        "{}",
        summary("spin")
    );
    assert!(
        summary("hog").contains("memory limit") && summary("hog").contains("64 MiB"),
        "{}",
        summary("hog")
    );
    assert!(
        summary("crash").starts_with("trap: wasm `unreachable`"),
        "{}",
        summary("crash")
    );
    let crash_log = by_id("crash")["log"].to_string();
    assert!(
        crash_log.contains("deliberate crash"),
        "the panic message reaches the gate log: {crash_log}"
    );
    assert!(
        summary("recurse").contains("stack overflow") || summary("recurse").starts_with("trap"),
        "{}",
        summary("recurse")
    );
    assert!(
        summary("flood").contains("oversized outcome"),
        "{}",
        summary("flood")
    );
    let v2 = summary("wit_v2");
    assert!(
        v2.contains("modelgate:gate") && v2.contains("0.2.0"),
        "{v2}"
    );

    // What the snooping gate saw: nothing.
    let saw = summary("snoop");
    assert!(saw.contains("file=[denied"), "{saw}");
    assert!(saw.contains("root=[denied"), "{saw}");
    assert!(saw.contains("cwd=[denied"), "{saw}");
    assert!(saw.contains("env=0 token=false"), "{saw}");
    assert!(saw.contains("net=[denied"), "{saw}");
    assert!(
        !d.to_string().contains("ghs_secret"),
        "the token leaked into the decision"
    );

    // A sleep ends at once (the gate's clock stands still), far within its
    // 1 s timeout instead of the hour it asked for; a loop that polls is
    // stopped by the timeout.
    assert_eq!(
        by_id("sleeper")["summary"],
        "woke up",
        "{}",
        by_id("sleeper")
    );
    let slept = by_id("sleeper")["duration_ms"].as_f64().unwrap();
    assert!(slept < 30_000.0, "the sleeper held the run for {slept} ms");
    // What a gate sends back is capped in bytes, and a cut says so.
    let loud = by_id("loud");
    assert_eq!(loud["verdict"], "pass");
    let log_bytes: usize = loud["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["message"].as_str().unwrap().len())
        .sum();
    assert!(log_bytes <= 300 * 1024, "{log_bytes} bytes of log kept");
    assert!(
        loud["log"][0]["message"]
            .as_str()
            .unwrap()
            .contains("[cut: ")
    );
    assert!(loud["log"].to_string().contains("log cap reached"));
    let shout = summary("shout");
    assert!(
        shout.len() < 2048 && shout.contains("[cut: "),
        "{} bytes: {}",
        shout.len(),
        &shout[..shout.len().min(200)]
    );
    for id in ["meta_spin", "meta_crash"] {
        assert!(
            summary(id).starts_with("metadata() failed: "),
            "{}",
            summary(id)
        );
    }
    assert!(
        summary("meta_spin").contains("1s"),
        "{}",
        summary("meta_spin")
    );
    let meta_log = by_id("meta_crash")["log"].to_string();
    assert!(
        meta_log.contains("deliberate crash in metadata"),
        "the panic message in metadata() reaches the gate log: {meta_log}"
    );
    assert!(
        d.to_string().len() < 4 << 20,
        "the decision stays small: {} bytes",
        d.to_string().len()
    );

    assert_eq!(by_id("class-balance")["verdict"], "pass", "the run goes on");
    drop(listener);
}

/// `gate new` gives a crate that builds offline against the embedded SDK and
/// WIT, and whose sample cases pass under `gate test`.
#[test]
fn scaffolded_gate_builds_and_passes_its_own_cases() {
    let t = TempDir::new().unwrap();
    let p = t.path();
    modelgate(p).args(["gate", "new", "my-gate"]).run();
    modelgate(p)
        .args(["gate", "new", "my-gate"])
        .fails_with_one_line()
        .run();
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("hostile-gates/target");
    // `gate build` runs cargo for a crate; the toolchain's variables pass
    // through the test's clean environment.
    let mut build = modelgate(p)
        .args(["gate", "build", "my-gate", "--out", "my-gate.wasm"])
        .env("CARGO", env!("CARGO"))
        .env("CARGO_TARGET_DIR", &target)
        // Share compiled dependencies with the hostile gates' profile.
        .env("CARGO_PROFILE_RELEASE_LTO", "false")
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "1")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16")
        .env("CARGO_PROFILE_RELEASE_STRIP", "false");
    for var in [
        "PATH",
        "HOME",
        "RUSTUP_HOME",
        "CARGO_HOME",
        "RUSTUP_TOOLCHAIN",
    ] {
        if let Some(v) = std::env::var_os(var) {
            build = build.env(var, v);
        }
    }
    build
        .stdout_has("built my-gate.wasm (")
        .stdout_has("test it: modelgate gate test my-gate.wasm --cases my-gate/cases.yaml")
        .run();
    let wasm = p.join("my-gate.wasm");
    modelgate(p)
        .args(["gate", "test"])
        .arg(&wasm)
        .args(["--cases", "my-gate/cases.yaml"])
        .stdout_has("2 passed, 0 failed")
        .run();
}

/// `gate new --lang python` writes a module that parses as Python and the
/// cases; `gate build` spells componentize-py's command line once: WASI
/// stubbed out, the `gate` world, and the WIT and SDK embedded in this
/// binary (byte for byte the repository's). A stand-in componentize-py
/// records its arguments and writes a real component, so the build's
/// report and `gate test` run for real. Building with the real tool is
/// `tests/gate-languages/check.sh`, run by `.ci/run`.
#[test]
fn python_gates_scaffold_and_build_through_componentize_py() {
    let t = TempDir::new().unwrap();
    let p = t.path();
    modelgate(p)
        .args(["gate", "new", "my-check", "--lang", "python"])
        .stdout_has("created Python gate `my-check` in my-check")
        .stdout_has("pip install componentize-py==0.25.1")
        .run();
    let app = fs::read_to_string(p.join("my-check/app.py")).unwrap();
    assert!(app.contains("class MyCheck(Gate):") && app.contains("WitWorld = export(MyCheck)"));
    let parsed = Process::new("python3")
        .args(["-c", "import ast, sys; ast.parse(open(sys.argv[1]).read())"])
        .arg(p.join("my-check/app.py"))
        .status()
        .unwrap();
    assert!(parsed.success(), "app.py is not valid Python:\n{app}");

    // No componentize-py: a one-line error saying how to install it.
    modelgate(p)
        .args(["gate", "build", "my-check"])
        .env("PATH", p.join("nowhere"))
        .fails_with_one_line()
        .stderr_has("`componentize-py` is not on PATH; install it with `pip install componentize-py==0.25.1`")
        .run();
    modelgate(p)
        .args(["gate", "build", "."])
        .fails_with_one_line()
        .stderr_has("has neither app.py (a Python gate), app.js (a JavaScript gate) nor Cargo.toml (a Rust gate)")
        .run();

    let tool = p.join("componentize-py");
    write(
        &tool,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"{log}\"\n\
             while [ $# -gt 0 ]; do\n  case \"$1\" in\n    -d) cp -r \"$2\" \"{dir}/wit-seen\" ;;\n    -p) [ -d \"$2/modelgate_gate\" ] && cp -r \"$2\" \"{dir}/sdk-seen\" ;;\n    -o) cp \"{component}\" \"$2\" ;;\n  esac\n  shift\ndone\n",
            log = p.join("args").display(),
            dir = p.display(),
            component = repo().join("gates/dist/metric-threshold.wasm").display(),
        ),
    );
    Process::new("chmod").arg("+x").arg(&tool).status().unwrap();
    modelgate(p)
        .args(["gate", "build", "my-check"])
        .env("COMPONENTIZE_PY", &tool)
        .stdout_has("built my-check/my-check.wasm (")
        .stdout_has(
            "test it: modelgate gate test my-check/my-check.wasm --cases my-check/cases.yaml",
        )
        .run();
    let args = fs::read_to_string(p.join("args")).unwrap();
    let args: Vec<&str> = args.lines().collect();
    assert_eq!(
        &args[2..7],
        ["-w", "gate", "componentize", "--stub-wasi", "app"],
        "{args:?}"
    );
    assert_eq!(args.last(), Some(&"my-check/my-check.wasm"), "{args:?}");
    assert_eq!(
        fs::read(p.join("wit-seen/gate.wit")).unwrap(),
        fs::read(repo().join("gates/wit/gate.wit")).unwrap()
    );
    assert_eq!(
        fs::read(p.join("sdk-seen/modelgate_gate/__init__.py")).unwrap(),
        fs::read(repo().join("gates/python/modelgate_gate/__init__.py")).unwrap()
    );
}

/// `gate new --lang js` writes app.js importing the SDK the build puts
/// beside it, and `gate build` says how to install ComponentizeJS when it
/// finds none. Building and running JavaScript gates for real is
/// `tests/gate-languages/check.sh`, run by `.ci/run`.
#[test]
fn javascript_gates_scaffold_and_name_what_the_build_needs() {
    let t = TempDir::new().unwrap();
    let p = t.path();
    modelgate(p)
        .args(["gate", "new", "my-js", "--lang", "js"])
        .stdout_has("created JavaScript gate `my-js` in my-js")
        .run();
    let app = fs::read_to_string(p.join("my-js/app.js")).unwrap();
    assert!(
        app.contains("from \"./modelgate-gate.js\"")
            && app.contains("export const { metadata, evaluate } = gate({"),
        "{app}"
    );
    modelgate(p)
        .args(["gate", "build", "my-js"])
        .fails_with_one_line()
        .stderr_has("run `npm install @bytecodealliance/componentize-js@0.23.0 @bytecodealliance/preview2-shim@0.25.0` there")
        .run();
    modelgate(p)
        .args(["gate", "build", "my-js"])
        .env("COMPONENTIZE_JS_MODULES", p)
        .fails_with_one_line()
        .stderr_has("holds no @bytecodealliance/componentize-js")
        .run();
}

/// A compiled gate is cached by its digest: the first run compiles it, the
/// second loads it (said with `-v`, so the hit is asserted, not timed).
#[test]
fn the_second_run_of_a_gate_loads_it_from_the_compile_cache() {
    let t = TempDir::new().unwrap();
    let p = t.path();
    let cases = "cases:\n  - name: c\n    holdout: { columns: { is_fraud: [0, 1, 0, 1], score_candidate: [0.1, 0.9, 0.2, 0.8] } }\n    expect: pass\n";
    write(&p.join("cases.yaml"), cases);
    let run = || {
        modelgate(p)
            .args([
                "gate",
                "test",
                "builtin:class-balance",
                "--cases",
                "cases.yaml",
                "-v",
            ])
            .env("MODELGATE_CACHE_DIR", p.join("cache"))
            .any_status()
            .run()
    };
    let first = run();
    assert!(
        first
            .stderr
            .contains("compiling gate builtin:class-balance"),
        "{}",
        first.stderr
    );
    let second = run();
    assert!(
        !second.stderr.contains("compiling gate"),
        "{}",
        second.stderr
    );
    assert!(
        second
            .stderr
            .contains("loaded gate builtin:class-balance from the compile cache"),
        "{}",
        second.stderr
    );
}
