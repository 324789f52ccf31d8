//! The GitHub Action outside GitHub: `action/install.sh` against a release
//! served on 127.0.0.1 (checksum verified, tool cache reused, tampering
//! refused, cargo fallback), `action/run.sh` with the real binary writing the
//! step outputs, and the sticky PR comment against the fake GitHub API.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use tempfile::TempDir;

use crate::fake_github::{FakeGitHub, REPO, TOKEN};
use crate::util::{binary, demo_data, repo, sha256};

/// Serves `files` by name on 127.0.0.1 and records the requested names.
fn serve(files: BTreeMap<String, Vec<u8>>) -> (String, Arc<Mutex<Vec<String>>>) {
    let hits = Arc::new(Mutex::new(Vec::new()));
    let h = hits.clone();
    let url = crate::http::serve(move |req| {
        let name = req.path.trim_start_matches('/').to_string();
        h.lock().unwrap().push(name.clone());
        match files.get(&name) {
            Some(body) => (200, Vec::new(), body.clone()),
            None => (404, Vec::new(), Vec::new()),
        }
    });
    (url, hits)
}

const VERSION: &str = "v9.8.7";
const ARCHIVE: &str = "modelgate-v9.8.7-x86_64-unknown-linux-gnu.tar.gz";

/// A release archive holding `bin/modelgate` (the real binary).
fn archive(dir: &Path) -> Vec<u8> {
    let stage = dir.join("stage");
    std::fs::create_dir_all(stage.join("bin")).unwrap();
    std::fs::copy(binary(), stage.join("bin/modelgate")).unwrap();
    let out = dir.join(ARCHIVE);
    let ok = Command::new("tar")
        .arg("-czf")
        .arg(&out)
        .arg("-C")
        .arg(&stage)
        .arg("bin")
        .status()
        .unwrap();
    assert!(ok.success());
    std::fs::read(out).unwrap()
}

/// Serves a release: the archive and a checksums file listing the
/// archive's sha256, or that of `checksum_of` to simulate tampering.
fn release(dir: &Path, checksum_of: Option<&[u8]>) -> (String, Arc<Mutex<Vec<String>>>) {
    let tar = archive(dir);
    let sum = sha256(checksum_of.unwrap_or(&tar));
    let mut files = BTreeMap::new();
    files.insert(
        "checksums.txt".to_string(),
        format!("{sum}  {ARCHIVE}\n").into_bytes(),
    );
    files.insert(ARCHIVE.to_string(), tar);
    serve(files)
}

fn install(dir: &Path, base: &str, extra: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new("bash");
    cmd.arg(repo().join("action/install.sh"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap())
        .env("HOME", dir)
        .env("RUNNER_OS", "Linux")
        .env("RUNNER_ARCH", "X64")
        .env("RUNNER_TOOL_CACHE", dir.join("toolcache"))
        .env("GITHUB_OUTPUT", dir.join("output"))
        .env("GITHUB_PATH", dir.join("path"))
        .env("MODELGATE_VERSION", VERSION)
        .env("MODELGATE_DOWNLOAD_BASE", base);
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        std::fs::read_to_string(dir.join("output")).unwrap_or_default(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn install_verifies_the_checksum_and_reuses_the_tool_cache() {
    let t = TempDir::new().unwrap();
    let (url, hits) = release(t.path(), None);

    let (code, output, err) = install(t.path(), &url, &[]);
    assert_eq!(code, 0, "{err}");
    let installed = t
        .path()
        .join("toolcache/modelgate")
        .join(VERSION)
        .join("x86_64-unknown-linux-gnu/bin/modelgate");
    assert!(
        output.contains(&format!("path={}", installed.display())),
        "{output}"
    );
    let version = Command::new(&installed).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("modelgate "));
    assert_eq!(hits.lock().unwrap().len(), 2);
    assert!(
        std::fs::read_to_string(t.path().join("path"))
            .unwrap()
            .contains("bin")
    );

    // A later step finds it in the tool cache without downloading.
    let (code, _, err) = install(t.path(), &url, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("found v9.8.7 in the tool cache"), "{err}");
    assert_eq!(hits.lock().unwrap().len(), 2);
}

#[test]
fn install_refuses_a_tampered_archive() {
    let t = TempDir::new().unwrap();
    let (url, _) = release(t.path(), Some(b"something else"));
    let (code, output, err) = install(t.path(), &url, &[]);
    assert_eq!(code, 1);
    assert!(
        err.contains("checksum mismatch") && err.contains("refusing to install"),
        "{err}"
    );
    assert!(!output.contains("path="));
    assert!(
        !t.path()
            .join("toolcache/modelgate")
            .join(VERSION)
            .join("x86_64-unknown-linux-gnu/.complete")
            .exists()
    );
}

#[test]
fn install_falls_back_to_cargo_without_a_binary_for_the_platform() {
    let t = TempDir::new().unwrap();
    let (url, _) = serve(BTreeMap::new());
    // A stand-in for cargo that records its arguments and "installs".
    let fake = t.path().join("fake-cargo");
    std::fs::write(
        &fake,
        "#!/usr/bin/env bash\necho \"$@\" > \"$HOME/cargo-args\"\nroot=\"${@: -1}\"\nmkdir -p \"$root/bin\"\nprintf '#!/bin/sh\\necho modelgate 0.0.0\\n' > \"$root/bin/modelgate\"\nchmod +x \"$root/bin/modelgate\"\n",
    )
    .unwrap();
    Command::new("chmod").arg("+x").arg(&fake).status().unwrap();
    let src = repo();
    let (code, output, err) = install(
        t.path(),
        &url,
        &[
            ("CARGO", fake.to_str().unwrap()),
            ("MODELGATE_SOURCE", src.to_str().unwrap()),
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("building from source"), "{err}");
    let args = std::fs::read_to_string(t.path().join("cargo-args")).unwrap();
    assert!(
        args.starts_with(&format!("install --locked --path {}", src.display())),
        "{args}"
    );
    assert!(output.contains("path="), "{output}");
}

fn run_action(dir: &Path, command: &str, env: &[(&str, String)]) -> (i32, String) {
    let mut cmd = Command::new("bash");
    cmd.arg(repo().join("action/run.sh"))
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap())
        .env("RUNNER_TEMP", dir.join("runner-temp"))
        .env("GITHUB_OUTPUT", dir.join("output"))
        .env("GITHUB_STEP_SUMMARY", dir.join("summary.md"))
        .env("GITHUB_ACTIONS", "true")
        .env("MODELGATE_CACHE_DIR", dir.join("cache"))
        .env("MODELGATE_BIN", binary())
        .env("MODELGATE_COMMAND", command);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Demo data and a config whose last gate blocks (an impossible AUC).
fn gated_project(dir: &Path, min_auc: f64) {
    demo_data(dir, "holdout", 20000, 1, &[]);
    demo_data(dir, "ref", 20000, 2, &[]);
    std::fs::write(
        dir.join("modelgate.yaml"),
        format!(
            "model: fraud-detector\nholdout: {{ path: holdout/holdout.parquet, label: is_fraud }}\n\
             candidate: {{ scores: {{ column: score_candidate }} }}\n\
             production: {{ scores: {{ column: score_production }} }}\n\
             reference: {{ path: ref/holdout.parquet }}\n\
             gates:\n  - uses: builtin:class-balance\n  - uses: builtin:metric-threshold\n    with: {{ min: {{ roc_auc: {min_auc} }} }}\n"
        ),
    )
    .unwrap();
}

#[test]
fn run_script_writes_outputs_and_exits_with_the_decision() {
    let t = TempDir::new().unwrap();
    gated_project(t.path(), 0.99);
    let (code, stdout) = run_action(t.path(), "run", &[("MODELGATE_JUNIT", "junit.xml".into())]);
    assert_eq!(code, 1, "the gate blocks, so the step fails:\n{stdout}");
    let output = std::fs::read_to_string(t.path().join("output")).unwrap();
    for key in [
        "decision=fail",
        "blocking=metric-threshold",
        "decision-json=",
        "report=",
    ] {
        assert!(output.contains(key), "missing {key} in {output}");
    }
    // The annotation points at the blocking gate's line in the config.
    assert!(
        stdout.contains("::error file=modelgate.yaml,line=8,title="),
        "{stdout}"
    );
    let report = std::fs::read_to_string(t.path().join("runner-temp/modelgate/report.md")).unwrap();
    assert!(report.contains("metric-threshold"));
    for chart in ["report-roc.svg", "report-pr.svg"] {
        let svg =
            std::fs::read_to_string(t.path().join("runner-temp/modelgate").join(chart)).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.contains("candidate") && svg.contains("production"),
            "{chart}"
        );
        // Each model's operating point, labelled with its threshold.
        assert_eq!(svg.matches("<circle").count(), 2, "{chart}");
        assert!(svg.contains("score &gt;= "), "{chart}");
    }
    assert!(
        report.contains("Operating threshold (score >= "),
        "the step summary names the operating points: {report}"
    );
    assert!(report.contains("x-axis \"false-positive rate\" [0.0001, 0.0002, 0.0005, 0.001,"));
    assert!(t.path().join("junit.xml").is_file());
    assert!(
        std::fs::read_to_string(t.path().join("summary.md"))
            .unwrap()
            .contains("metric-threshold")
    );

    // `summary: false` keeps the step summary out.
    let t = TempDir::new().unwrap();
    gated_project(t.path(), 0.5);
    let (code, _) = run_action(t.path(), "run", &[("MODELGATE_SUMMARY", "false".into())]);
    assert_eq!(code, 0);
    assert!(!t.path().join("summary.md").exists());
    assert!(
        std::fs::read_to_string(t.path().join("output"))
            .unwrap()
            .contains("decision=pass")
    );

    let (code, _) = run_action(t.path(), "deploy", &[]);
    assert_eq!(code, 2, "an unknown command is a usage error");
}

#[test]
fn pr_comment_is_created_once_then_updated_in_place() {
    let t = TempDir::new().unwrap();
    gated_project(t.path(), 0.5);
    let gh = FakeGitHub::start();
    std::fs::write(
        t.path().join("event.json"),
        r#"{"pull_request": {"number": 7}}"#,
    )
    .unwrap();
    let env = [
        ("MODELGATE_COMMENT", "true".to_string()),
        ("GITHUB_API_URL", gh.url.clone()),
        ("GITHUB_TOKEN", TOKEN.to_string()),
        ("GITHUB_REPOSITORY", REPO.to_string()),
        (
            "GITHUB_EVENT_PATH",
            t.path().join("event.json").display().to_string(),
        ),
    ];
    for _ in 0..2 {
        let (code, stdout) = run_action(t.path(), "run", &env);
        assert_eq!(code, 0, "{stdout}");
        assert!(
            !stdout.contains("::warning title=modelgate PR comment"),
            "{stdout}"
        );
    }
    let comments = gh.with(|s| s.comments.clone());
    assert_eq!(comments.len(), 1, "one sticky comment, edited in place");
    let body = comments[0]["body"].as_str().unwrap();
    assert!(body.starts_with("<!-- modelgate:comment model=fraud-detector -->"));
    assert!(body.contains("metric-threshold"));
    let edits = gh.requests().iter().filter(|r| r.method == "PATCH").count();
    assert_eq!(edits, 1);

    // Without the permission: a clear warning, the decision unchanged.
    gh.inject(crate::fake_github::Fault::forbidden("POST", "/issues/"));
    gh.state.lock().unwrap().comments.clear();
    let (code, stdout) = run_action(t.path(), "run", &env);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("::warning title=modelgate PR comment::")
            && stdout.contains("pull-requests: write"),
        "{stdout}"
    );
}

/// `attest: true` makes the promote step write the predicate and the
/// subjects, and name them in the step outputs the `actions/attest` step
/// reads; a blocked promotion writes none, so that step is skipped.
#[test]
fn run_script_hands_the_attestation_files_to_the_attest_step() {
    let t = TempDir::new().unwrap();
    demo_data(t.path(), "holdout", 20000, 1, &[]);
    crate::util::modelgate(t.path())
        .args([
            "train",
            "--data",
            "holdout/holdout.parquet",
            "--label",
            "is_fraud",
        ])
        .args(["--features", "f01,f02", "--out", "model.linfa.json"])
        .run();
    let config = |min_auc: f64| {
        std::fs::write(
            t.path().join("modelgate.yaml"),
            format!(
                "model: fraud-detector\nholdout: {{ path: holdout/holdout.parquet, label: is_fraud }}\n\
                 candidate: {{ linfa: {{ path: model.linfa.json }} }}\n\
                 production: {{ registry: production }}\nregistry: {{ kind: local, path: reg }}\n\
                 gates:\n  - uses: builtin:metric-threshold\n    with: {{ min: {{ roc_auc: {min_auc} }} }}\n"
            ),
        )
        .unwrap();
    };
    config(0.999);
    let attest = [("MODELGATE_ATTEST", "true".to_string())];
    let (code, stdout) = run_action(t.path(), "promote", &attest);
    assert_eq!(code, 1, "{stdout}");
    let output = std::fs::read_to_string(t.path().join("output")).unwrap();
    assert!(!output.contains("attestation-"), "{output}");

    config(0.5);
    let (code, stdout) = run_action(t.path(), "promote", &attest);
    assert_eq!(code, 0, "{stdout}");
    let output = std::fs::read_to_string(t.path().join("output")).unwrap();
    let dir = t.path().join("runner-temp/modelgate/attestation");
    let predicate = dir.join("modelgate-predicate.json");
    let subjects = dir.join("modelgate-subjects.sha256");
    assert!(
        output.contains(&format!("attestation-predicate={}\n", predicate.display()))
            && output.contains(&format!("attestation-subjects={}\n", subjects.display())),
        "{output}"
    );
    let model = sha256(&std::fs::read(t.path().join("model.linfa.json")).unwrap());
    assert_eq!(
        std::fs::read_to_string(subjects).unwrap(),
        format!("{model}  model.linfa.json\n")
    );
    let p: serde_json::Value = serde_json::from_slice(&std::fs::read(predicate).unwrap()).unwrap();
    assert_eq!(p["version"], "v1.0.0");
    assert_eq!(p["artifacts"][0]["sha256"], model.as_str());
}
