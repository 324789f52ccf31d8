//! Registry, lineage and promotion through the real binary: one behaviour
//! suite run against the local directory backend and against the GitHub
//! backend (octocrab talking to a fake GitHub on 127.0.0.1), then GitHub
//! request shapes, fault injection with re-runs, and signed webhooks.

use std::path::Path;
use std::sync::{Arc, Mutex};

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Digest;
use tempfile::TempDir;

use crate::fake_github::{FakeGitHub, Fault, REPO, TOKEN};
use crate::util::{Test, demo_data, modelgate, sha256_file};

const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

enum Backend {
    Local,
    GitHub(FakeGitHub),
}

struct World {
    dir: TempDir,
    backend: Backend,
    extra_env: Vec<(String, String)>,
}

impl World {
    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The binary in this world: its directory, the commit, and for the
    /// GitHub backend the fake's URL, token and repository.
    fn cmd(&self) -> Test {
        let mut t = modelgate(self.path()).env("GITHUB_SHA", COMMIT);
        if let Backend::GitHub(gh) = &self.backend {
            t = t
                .env("GITHUB_API_URL", gh.api_url())
                .env("GITHUB_TOKEN", TOKEN)
                .env("GITHUB_REPOSITORY", REPO);
        }
        t.envs(self.extra_env.iter().map(|(k, v)| (k, v)))
            .stdout_lacks(TOKEN)
            .stderr_lacks(TOKEN)
    }

    /// Runs and returns (exit code, stdout, stderr), checking the token
    /// never appears in the output.
    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = self.cmd().args(args).any_status().run();
        (out.status, out.stdout, out.stderr)
    }

    fn ok(&self, args: &[&str]) -> String {
        self.cmd().args(args).run().stdout
    }

    fn json(&self, args: &[&str]) -> Value {
        serde_json::from_str(&self.ok(args)).unwrap()
    }

    fn gh(&self) -> &FakeGitHub {
        match &self.backend {
            Backend::GitHub(g) => g,
            Backend::Local => panic!("not a GitHub world"),
        }
    }
}

/// Holdout and three training sets (b with missing values), three models,
/// and a config per model.
fn world(backend: Backend, promote: &str) -> World {
    let w = World {
        dir: TempDir::new().unwrap(),
        backend,
        extra_env: Vec::new(),
    };
    for (out, seed, extra) in [
        ("holdout", 1, &[][..]),
        ("train-a", 2, &[][..]),
        (
            "train-b",
            3,
            &["--missing", "f01=0.3", "--missing", "f02=0.2"][..],
        ),
        ("train-c", 4, &[][..]),
    ] {
        demo_data(w.path(), out, 20000, seed, extra);
    }
    for (m, features) in [
        ("a", "f01,f02"),
        ("b", "f01,f02,f03,f04,f05,f06,f07,f08"),
        ("c", "f01,f02,f03,f04,f05,f06,f07,f08"),
    ] {
        w.ok(&[
            "train",
            "--data",
            &format!("train-{m}/holdout.parquet"),
            "--label",
            "is_fraud",
            "--features",
            features,
            "--out",
            &format!("models/{m}.linfa.json"),
        ]);
        let registry = match &w.backend {
            Backend::Local => "registry: { kind: local, path: reg }".to_string(),
            Backend::GitHub(_) => format!("registry: {{ kind: github, repository: {REPO} }}"),
        };
        std::fs::write(
            w.path().join(format!("{m}.yaml")),
            format!(
                "model: fraud-detector\n\
                 holdout: {{ path: holdout/holdout.parquet, label: is_fraud, id: transaction_id }}\n\
                 candidate: {{ linfa: {{ path: models/{m}.linfa.json }} }}\n\
                 production: {{ registry: production }}\n\
                 {registry}\n\
                 lineage: {{ training_data: train-{m}/holdout.parquet, params: {{ team: fraud, features: \"{features}\" }} }}\n\
                 {promote}\
                 gates:\n\
                 \x20 - uses: builtin:missing-values\n    with: {{ max_ratio: 0.01 }}\n\
                 \x20 - uses: builtin:champion-challenger\n    with: {{ metrics: {{ average_precision: {{ min_absolute_change: 0.005 }} }} }}\n"
            ),
        )
        .unwrap();
    }
    w
}

/// The behaviour every backend must have.
fn behaviour(w: &World) {
    let out = w.ok(&["promote", "--config", "a.yaml"]);
    assert!(
        out.contains("PROMOTED fraud-detector v1.0.0 to production (was none)"),
        "{out}"
    );
    assert!(out.contains("no production version yet"), "{out}");

    // A re-run changes nothing.
    let out = w.ok(&["promote", "--config", "a.yaml"]);
    assert!(out.contains("v1.0.0 is already production"), "{out}");

    // The model trained on broken data is blocked, and nothing changes.
    let (code, out, _) = w.run(&["promote", "--config", "b.yaml"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("NOT PROMOTED") && out.contains("missing_ratio[reference.f01]"),
        "{out}"
    );
    let show = w.json(&["show", "--config", "a.yaml", "--format", "json"]);
    assert_eq!(show["schema"], "modelgate.show/v1");
    assert_eq!(show["versions"].as_array().unwrap().len(), 1);

    // Registered for the record, its lineage names the data problem.
    let out = w.ok(&["register", "--config", "b.yaml"]);
    assert!(
        out.contains("REGISTERED fraud-detector v1.1.0 (not promoted)"),
        "{out}"
    );
    let lineage = w.ok(&["lineage", "fraud-detector@v1.1.0", "--config", "b.yaml"]);
    assert!(
        lineage.contains("2 columns have missing values"),
        "{lineage}"
    );
    assert!(
        lineage.contains("f01") && lineage.contains("f02"),
        "{lineage}"
    );
    assert!(lineage.contains(COMMIT), "{lineage}");
    let l = w.json(&[
        "lineage",
        "fraud-detector@v1.1.0",
        "--config",
        "b.yaml",
        "--format",
        "json",
    ]);
    assert_eq!(l["schema"], "modelgate.lineage/v1");
    assert_eq!(l["parent"], "v1.0.0");
    assert_eq!(l["params"]["team"], "fraud");
    let f01 = l["training_data"]["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "f01")
        .unwrap();
    let ratio = f01["nulls"].as_f64().unwrap() / f01["count"].as_f64().unwrap();
    assert!((0.28..0.32).contains(&ratio), "{ratio}");
    assert_eq!(
        l["training_data"]["sha256"].as_str().unwrap(),
        sha256_file(&w.path().join("train-b/holdout.parquet"))
    );

    // A dry run describes and changes nothing.
    let out = w.ok(&["promote", "--config", "c.yaml", "--dry-run"]);
    assert!(
        out.contains("[dry run] PROMOTED") && out.contains("would"),
        "{out}"
    );
    let show = w.json(&["show", "--config", "a.yaml", "--format", "json"]);
    assert_eq!(show["versions"].as_array().unwrap().len(), 2);
    assert_eq!(show["production"], "v1.0.0");

    // The better model is promoted over production.
    let out = w.ok(&["promote", "--config", "c.yaml"]);
    assert!(
        out.contains("PROMOTED fraud-detector v1.2.0 to production (was v1.0.0)"),
        "{out}"
    );
    assert!(out.contains("production is fraud-detector v1.0.0"), "{out}");
    let history = w.json(&["history", "--config", "a.yaml", "--format", "json"]);
    let p = history["promotions"].as_array().unwrap();
    assert_eq!(p.len(), 2);
    assert_eq!(
        (p[0]["version"].as_str(), p[1]["version"].as_str()),
        (Some("v1.0.0"), Some("v1.2.0"))
    );
    assert_eq!(p[1]["previous"], "v1.0.0");
    assert_eq!(p[1]["tag"], "fraud-detector#production#2");
    let show = w.json(&["show", "--config", "a.yaml", "--format", "json"]);
    assert_eq!(show["production"], "v1.2.0");
    let decisions: Vec<&str> = show["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["decision"].as_str().unwrap())
        .collect();
    assert_eq!(decisions, ["pass", "fail", "pass"]);

    // `run` compares against the registry's production too, read-only.
    let (code, out, err) = w.run(&["run", "--config", "a.yaml"]);
    assert_eq!(code, 1, "a is worse than production c:\n{out}\n{err}");
}

#[test]
fn local_backend_behaves() {
    let w = world(Backend::Local, "");
    behaviour(&w);
    let v = w.path().join("reg/fraud-detector/versions/v1.2.0");
    for f in [
        "version.json",
        "lineage.json",
        "evaluation.json",
        "decision.json",
        "report.md",
        "artifacts/c.linfa.json",
    ] {
        assert!(v.join(f).is_file(), "{f}");
    }
    assert_eq!(
        std::fs::read(v.join("artifacts/c.linfa.json")).unwrap(),
        std::fs::read(w.path().join("models/c.linfa.json")).unwrap()
    );
}

#[test]
fn github_backend_behaves_and_sends_documented_shapes() {
    let w = world(
        Backend::GitHub(FakeGitHub::start()),
        "promote: { dispatch: { event_type: model-promoted } }\n",
    );
    behaviour(&w);
    let reqs = w.gh().requests();
    let posts = |p: &str| -> Vec<&crate::fake_github::Request> {
        reqs.iter()
            .filter(|r| r.method == "POST" && r.path == format!("/repos/{REPO}{p}"))
            .collect()
    };
    // Annotated tags (GTO reads them), then refs, for versions and promotions.
    let tags: Vec<String> = posts("/git/tags")
        .iter()
        .map(|r| r.json()["tag"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        tags,
        [
            "fraud-detector@v1.0.0",
            "fraud-detector#production#1",
            "fraud-detector@v1.1.0",
            "fraud-detector@v1.2.0",
            "fraud-detector#production#2"
        ]
    );
    for r in posts("/git/tags") {
        assert_eq!(r.json()["object"], COMMIT);
        assert_eq!(r.json()["type"], "commit");
    }
    let release = posts("/releases")[0].json();
    assert_eq!(release["tag_name"], "fraud-detector@v1.0.0");
    assert!(
        release["body"]
            .as_str()
            .unwrap()
            .contains("modelgate:version")
    );
    let uploads: Vec<&crate::fake_github::Request> = reqs
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/assets"))
        .collect();
    assert!(uploads.iter().all(|r| r.query.starts_with("name=")));
    let dispatches = w.gh().with(|s| s.dispatches.clone());
    assert_eq!(
        dispatches.len(),
        2,
        "one dispatch per promotion, none on re-runs"
    );
    let d = &dispatches[1];
    assert_eq!(d["event_type"], "model-promoted");
    let p = d["client_payload"].as_object().unwrap();
    assert!(p.len() <= 10);
    assert_eq!(p["version"], "v1.2.0");
    assert_eq!(p["previous_version"], "v1.0.0");
    assert_eq!(
        p["sha256"],
        sha256_file(&w.path().join("models/c.linfa.json")).as_str()
    );
    assert!(
        p["artifact_url"]
            .as_str()
            .unwrap()
            .ends_with("/releases/download/fraud-detector@v1.2.0/c.linfa.json")
    );
    // One GitHub Deployment per promotion, to `production` at the version
    // tag, each with one `success` status; none on re-runs.
    let deployments = w.gh().with(|s| s.deployments.clone());
    assert_eq!(deployments.len(), 2, "{deployments:?}");
    let last = &deployments[1];
    assert_eq!(
        (last["ref"].as_str(), last["environment"].as_str()),
        (Some("fraud-detector@v1.2.0"), Some("production"))
    );
    assert_eq!(last["payload"]["promotion"], 2);
    assert_eq!(last["payload"]["sha256"], p["sha256"]);
    assert!(last["payload"]["decision"]["evidence_sha256"].is_string());
    for d in &deployments {
        let states: Vec<&str> = d["statuses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["state"].as_str().unwrap())
            .collect();
        assert_eq!(states, ["success"], "{d}");
    }
    // Every release holds each asset once, all uploaded.
    w.gh().with(|s| {
        for rel in &s.releases {
            let names: Vec<&str> = rel["assets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["name"].as_str().unwrap())
                .collect();
            let mut unique = names.clone();
            unique.dedup();
            assert_eq!(names.len(), unique.len(), "{names:?}");
            assert!(
                rel["assets"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|a| a["state"] == "uploaded")
            );
        }
    });
}

/// Promote `c` (first promotion) with a fault, expect failure or success,
/// then re-run and check the end state has no duplicates.
fn fault_then_rerun(fault: Fault, first_exit: i32, message: &str) {
    let w = world(
        Backend::GitHub(FakeGitHub::start()),
        "promote: { dispatch: { event_type: model-promoted } }\n",
    );
    w.gh().inject(fault);
    let (code, out, err) = w.run(&["promote", "--config", "c.yaml"]);
    assert_eq!(code, first_exit, "stdout:\n{out}\nstderr:\n{err}");
    assert!(
        err.contains(message) || out.contains(message),
        "expected `{message}` in\n{out}\n{err}"
    );
    let (code, out, err) = w.run(&["promote", "--config", "c.yaml"]);
    assert_eq!(code, 0, "re-run:\n{out}\n{err}");
    w.gh().with(|s| {
        // One published, immutable release (no draft left behind) holding
        // every asset, the deliveries in its notes, and one deployment.
        assert_eq!(s.releases.len(), 1);
        let release = &s.releases[0];
        assert_eq!(
            (&release["draft"], &release["immutable"]),
            (&json!(false), &json!(true))
        );
        let assets = release["assets"].as_array().unwrap();
        let mut names: Vec<&str> = assets.iter().map(|a| a["name"].as_str().unwrap()).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "c.linfa.json",
                "decision.json",
                "evaluation.json",
                "lineage.json",
                "report.md"
            ]
        );
        assert!(assets.iter().all(|a| a["state"] == "uploaded"));
        assert!(
            release["body"]
                .as_str()
                .unwrap()
                .contains("<!-- modelgate:deliveries-1 "),
            "{release}"
        );
        assert_eq!(s.deployments.len(), 1);
        let prod: Vec<&String> = s
            .refs
            .keys()
            .filter(|k| k.contains("#production#"))
            .collect();
        assert_eq!(prod, ["refs/tags/fraud-detector#production#1"]);
        assert_eq!(s.dispatches.len(), 1, "dispatched exactly once");
    });
}

/// Draft first: a run that stops after uploading but before publishing
/// leaves a draft, which the re-run finds (drafts are not served by tag)
/// and publishes, without a second release; readers never see the draft.
#[test]
fn an_interrupted_publish_leaves_a_draft_that_the_rerun_completes() {
    fault_then_rerun(
        Fault::forbidden("PATCH", "/releases/"),
        2,
        "contents: write",
    );
}

/// Without the immutable-releases setting the same draft-first path
/// publishes, and a re-run only reads.
#[test]
fn releases_are_the_same_without_the_immutable_setting() {
    let gh = FakeGitHub::start();
    gh.state.lock().unwrap().immutable = false;
    let w = world(Backend::GitHub(gh), "");
    w.ok(&["promote", "--config", "a.yaml"]);
    w.ok(&["promote", "--config", "c.yaml"]);
    w.gh().with(|s| {
        assert_eq!(s.releases.len(), 2);
        for r in &s.releases {
            assert_eq!(
                (&r["draft"], &r["immutable"]),
                (&json!(false), &json!(false))
            );
            assert_eq!(r["assets"].as_array().unwrap().len(), 5, "{r}");
        }
    });
}

#[test]
fn missing_permission_is_named_and_a_rerun_completes() {
    fault_then_rerun(Fault::forbidden("POST", "/git/tags"), 2, "contents: write");
}

#[test]
fn failure_creating_the_release_then_rerun() {
    fault_then_rerun(Fault::forbidden("POST", "/releases"), 2, "contents: write");
}

#[test]
fn failure_midway_through_uploads_then_rerun() {
    let w = world(
        Backend::GitHub(FakeGitHub::start()),
        "promote: { dispatch: { event_type: model-promoted } }\n",
    );
    let mut f = Fault::forbidden("POST", "/assets");
    f.skip = 2;
    w.gh().inject(f);
    let (code, _, err) = w.run(&["promote", "--config", "c.yaml"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("contents: write"), "{err}");
    // The alias never points at a half-published version, and readers see
    // no release at all: it is still a draft.
    w.gh().with(|s| {
        assert_eq!(s.releases[0]["assets"].as_array().unwrap().len(), 2);
        assert_eq!(s.releases[0]["draft"], true);
        assert!(s.refs.keys().all(|k| !k.contains("#production#")));
        assert!(s.dispatches.is_empty());
    });
    let (code, out, err) = w.run(&["promote", "--config", "c.yaml"]);
    assert_eq!(code, 0, "{out}\n{err}");
    w.gh().with(|s| {
        assert_eq!(s.releases.len(), 1);
        assert_eq!(s.releases[0]["draft"], false);
        // Five files; the deliveries live in the notes.
        assert_eq!(s.releases[0]["assets"].as_array().unwrap().len(), 5);
        assert_eq!(s.dispatches.len(), 1);
    });
}

#[test]
fn half_made_asset_is_deleted_and_retried() {
    let mut f = Fault::new("POST", "/assets", 502);
    f.leave_starter = true;
    fault_then_rerun(f, 0, "cleaning up and retrying");
}

#[test]
fn rate_limit_and_server_errors_are_retried() {
    let mut f = Fault::new("POST", "/releases", 429);
    f.headers = vec![("retry-after".into(), "1".into())];
    fault_then_rerun(f, 0, "retrying in 1.0s");
    fault_then_rerun(Fault::new("GET", "/git/matching-refs", 502), 0, "retrying");
}

#[test]
fn dispatch_failure_after_the_alias_moved_is_retried_by_a_rerun() {
    fault_then_rerun(
        Fault::forbidden("POST", "/dispatches"),
        2,
        "deploy trigger(s) failed",
    );
}

#[test]
fn dry_run_against_github_makes_no_writes() {
    let w = world(Backend::GitHub(FakeGitHub::start()), "");
    let out = w.ok(&["promote", "--config", "c.yaml", "--dry-run"]);
    assert!(
        out.contains("would call POST /repos/acme/fraud/releases"),
        "{out}"
    );
    assert!(w.gh().requests().iter().all(|r| r.method == "GET"));
}

#[test]
fn no_token_is_a_clear_usage_error() {
    let mut w = world(Backend::Local, "");
    std::fs::write(
        w.path().join("gh.yaml"),
        std::fs::read_to_string(w.path().join("c.yaml"))
            .unwrap()
            .replace(
                "registry: { kind: local, path: reg }",
                "registry: { kind: github, repository: acme/fraud }",
            ),
    )
    .unwrap();
    w.extra_env
        .push(("GITHUB_API_URL".into(), "http://127.0.0.1:9".into()));
    let (code, _, err) = w.run(&["promote", "--config", "gh.yaml"]);
    assert_eq!(code, 2);
    assert!(err.contains("no GitHub token: set GITHUB_TOKEN"), "{err}");
}

/// A webhook receiver: answers 503 to the first delivery, then 200, and
/// keeps every request.
/// Headers (lowercased names) and body of each delivery.
type Seen = Arc<Mutex<Vec<(Vec<(String, String)>, Vec<u8>)>>>;

fn receiver() -> (String, Seen) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let base = crate::http::serve(move |req| {
        let headers = req
            .headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .collect();
        let n = {
            let mut v = s.lock().unwrap();
            v.push((headers, req.body.clone()));
            v.len()
        };
        // The first delivery meets a 503 with retry-after, to be retried.
        if n == 1 {
            (503, vec![("retry-after".into(), "1".into())], Vec::new())
        } else {
            (200, Vec::new(), Vec::new())
        }
    });
    (format!("{base}/hooks/modelgate"), seen)
}

/// The headers of one received delivery, by lower-case name.
fn header(headers: &[(String, String)], name: &str) -> String {
    headers
        .iter()
        .find(|x| x.0 == name)
        .map(|x| x.1.clone())
        .unwrap_or_else(|| panic!("no {name} header in {headers:?}"))
}

#[test]
fn webhooks_are_signed_retried_and_not_repeated() {
    let (url, seen) = receiver();
    let mut w = world(
        Backend::Local,
        &format!("promote:\n  webhooks:\n    - {{ url: \"{url}\", secret_env: HOOK_SECRET }}\n"),
    );
    // A Standard Webhooks secret: `whsec_` + base64 of the key bytes.
    w.extra_env.push((
        "HOOK_SECRET".into(),
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
    ));
    let out = w.ok(&["promote", "--config", "c.yaml"]);
    assert!(out.contains(&format!("delivered {url} (HTTP 200")), "{out}");
    let seen_now = seen.lock().unwrap().clone();
    assert_eq!(seen_now.len(), 2, "one 503, one retry");
    let (headers, body) = &seen_now[1];
    let h = |k: &str| header(headers, k);
    // v1,<base64 HMAC-SHA256 over id.timestamp.body>, keyed by the bytes
    // the secret's base64 encodes (the independent check is the
    // `standardwebhooks` package, run by .ci/run).
    let key = base64_decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.", h("webhook-id"), h("webhook-timestamp")).as_bytes());
    mac.update(body);
    assert_eq!(
        h("webhook-signature"),
        format!("v1,{}", base64_encode(&mac.finalize().into_bytes()))
    );
    // The same id on the retry, for the receiver's deduplication; no
    // legacy headers unless asked for.
    assert_eq!(h("webhook-id"), header(&seen_now[0].0, "webhook-id"));
    assert!(
        !headers.iter().any(|x| x.0.starts_with("x-modelgate-")),
        "{headers:?}"
    );
    let payload: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(payload["schema"], "modelgate.webhook/v1");
    assert_eq!(payload["version"], "v1.0.0");
    // The decision record's digest: what an auditor checks the evidence by.
    let decision = std::fs::read(
        w.path()
            .join("reg/fraud-detector/versions/v1.0.0/decision.json"),
    )
    .unwrap();
    assert_eq!(
        payload["decision"]["evidence_sha256"].as_str().unwrap(),
        hex::encode(sha2::Sha256::digest(&decision))
    );
    // Re-running sends nothing new.
    w.ok(&["promote", "--config", "c.yaml"]);
    assert_eq!(seen.lock().unwrap().len(), 2);
}

/// `legacy_headers: true` keeps the pre-0.2 headers for receivers not yet
/// moved; a secret that is not base64 then signs only those, with a note.
#[test]
fn legacy_webhook_headers_are_kept_on_request() {
    let (url, seen) = receiver();
    let mut w = world(
        Backend::Local,
        &format!(
            "promote:\n  webhooks:\n    - {{ url: \"{url}\", secret_env: HOOK_SECRET, legacy_headers: true }}\n"
        ),
    );
    w.extra_env
        .push(("HOOK_SECRET".into(), "not base64!".into()));
    let out = w.ok(&["promote", "--config", "c.yaml"]);
    assert!(out.contains(&format!("delivered {url} (HTTP 200")), "{out}");
    let seen_now = seen.lock().unwrap().clone();
    let (headers, body) = &seen_now[1];
    let h = |k: &str| header(headers, k);
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"not base64!").unwrap();
    mac.update(format!("{}.", h("x-modelgate-timestamp")).as_bytes());
    mac.update(body);
    assert_eq!(
        h("x-modelgate-signature-256"),
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    );
    assert_eq!(h("x-modelgate-delivery"), h("webhook-id"));
    assert!(
        !headers.iter().any(|x| x.0 == "webhook-signature"),
        "{headers:?}"
    );

    // Without the option, such a secret is an error that says what to do.
    let (url, _) = receiver();
    let mut w = world(
        Backend::Local,
        &format!("promote:\n  webhooks:\n    - {{ url: \"{url}\", secret_env: HOOK_SECRET }}\n"),
    );
    w.extra_env
        .push(("HOOK_SECRET".into(), "not base64!".into()));
    let (code, _, err) = w.run(&["promote", "--config", "c.yaml"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("not a Standard Webhooks secret") && err.contains("legacy_headers"),
        "{err}"
    );
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A deployment left without its status by a failed run is finished by
/// the re-run, never duplicated; a token without `deployments: write` is
/// named.
#[test]
fn a_failed_deployment_status_is_finished_by_the_rerun() {
    let w = world(Backend::GitHub(FakeGitHub::start()), "");
    w.gh().inject(Fault::forbidden("POST", "/statuses"));
    let (code, _, err) = w.run(&["promote", "--config", "a.yaml"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("deployments: write"), "{err}");
    w.ok(&["promote", "--config", "a.yaml"]);
    let deployments = w.gh().with(|s| s.deployments.clone());
    assert_eq!(deployments.len(), 1, "{deployments:?}");
    assert_eq!(deployments[0]["statuses"].as_array().unwrap().len(), 1);
}

#[test]
fn failure_creating_the_production_tag_then_rerun() {
    // The first ref is the version tag; fail the second, the alias.
    let mut f = Fault::forbidden("POST", "/git/refs");
    f.skip = 1;
    fault_then_rerun(f, 2, "contents: write");
}

#[test]
fn api_calls_per_promotion_are_counted() {
    let w = world(
        Backend::GitHub(FakeGitHub::start()),
        "promote: { dispatch: { event_type: model-promoted } }\n",
    );
    w.ok(&["promote", "--config", "a.yaml"]);
    let first = w.gh().requests().len();
    w.ok(&["promote", "--config", "c.yaml"]);
    let second = w.gh().requests().len() - first;
    w.ok(&["promote", "--config", "c.yaml"]);
    let rerun = w.gh().requests().len() - first - second;
    eprintln!("GitHub API calls: first promotion {first}, second {second}, no-op re-run {rerun}");
    assert!(rerun < second, "a re-run only reads");
    assert!(
        w.gh().requests()[first + second..]
            .iter()
            .all(|r| r.method == "GET")
    );
}

#[test]
fn promote_in_github_actions_writes_outputs_and_a_registry_summary() {
    let mut w = world(Backend::Local, "");
    w.extra_env.push(("GITHUB_ACTIONS".into(), "true".into()));
    w.extra_env.push((
        "GITHUB_OUTPUT".into(),
        w.path().join("out.txt").display().to_string(),
    ));
    w.extra_env.push((
        "GITHUB_STEP_SUMMARY".into(),
        w.path().join("summary.md").display().to_string(),
    ));
    w.ok(&["promote", "--config", "a.yaml"]);
    let (code, _, _) = w.run(&["promote", "--config", "b.yaml"]);
    assert_eq!(code, 1);
    let outputs = std::fs::read_to_string(w.path().join("out.txt")).unwrap();
    assert!(
        outputs.contains("promoted=true\nversion=v1.0.0\nproduction-version=v1.0.0\n"),
        "{outputs}"
    );
    assert!(outputs.contains("decision=fail"), "{outputs}");
    assert!(
        outputs.contains("promoted=false\nversion=\nproduction-version=v1.0.0\n"),
        "{outputs}"
    );
    let summary = std::fs::read_to_string(w.path().join("summary.md")).unwrap();
    assert!(
        summary.contains("**Promoted** `fraud-detector` v1.0.0 to production (was none)"),
        "{summary}"
    );
    assert!(
        summary.contains("| training data | `") && summary.contains("missing: no missing values"),
        "{summary}"
    );
    assert!(
        summary.contains("**Not promoted**: production stays at v1.0.0"),
        "{summary}"
    );
}

/// The production alias is compared-and-swapped: when another run moves
/// production while this one's gates run, this one registers its version
/// but does not promote over a model it was never compared with (exit 1).
#[test]
fn production_that_moves_while_the_gates_run_is_not_promoted_over() {
    let w = world(Backend::GitHub(FakeGitHub::start()), "");
    w.ok(&["promote", "--config", "a.yaml"]);
    // Just as this run creates its release (its gates have run against
    // v1.0.0), another run re-promotes v1.0.0 as promotion 2.
    w.gh().before("POST", "/releases", |st| {
        st.add_promotion(2, "v1.0.0", "v1.0.0", COMMIT);
    });
    let (code, out, err) = w.run(&["promote", "--config", "c.yaml"]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        out.contains("production moved to fraud-detector v1.0.0 (fraud-detector#production#2) while the gates ran"),
        "{out}"
    );
    // Registered, not promoted: no third stage tag, and the release exists.
    w.gh().with(|st| {
        assert!(
            !st.refs
                .contains_key("refs/tags/fraud-detector#production#3")
        );
        assert!(
            st.releases
                .iter()
                .any(|r| r["tag_name"] == "fraud-detector@v1.1.0")
        );
    });
    // A re-run compares against the new production and promotes.
    let out = w.ok(&["promote", "--config", "c.yaml"]);
    assert!(
        out.contains("PROMOTED fraud-detector v1.1.0 to production (was v1.0.0)"),
        "{out}"
    );
    w.gh().with(|st| {
        assert!(
            st.refs
                .contains_key("refs/tags/fraud-detector#production#3")
        )
    });
}

/// Two runs choose the same version: the one that finds the other's
/// release (422 `already_exists`) compares artifacts, and on a mismatch
/// stops without uploading to, or deleting from, the other's release.
#[test]
fn a_version_published_concurrently_with_other_artifacts_is_not_adopted() {
    let w = world(Backend::GitHub(FakeGitHub::start()), "");
    w.ok(&["promote", "--config", "a.yaml"]);
    let other = serde_json::json!({
        "schema": "modelgate.version/v1", "model": "fraud-detector", "version": "v1.1.0",
        "tag": "fraud-detector@v1.1.0", "created_at": "2026-12-01T00:00:00Z", "creator": "another run",
        "commit": COMMIT, "decision": "pass",
        "artifacts": [{"name": "b.linfa.json", "sha256": "ab".repeat(32), "size": 10, "format": "linfa"}],
    });
    w.gh().before("POST", "/releases", move |st| {
        st.add_release(
            "fraud-detector@v1.1.0",
            &format!("Another run's version.\n\n<!-- modelgate:version {other} -->\n"),
        );
    });
    let before = w.gh().requests().len();
    let (code, out, err) = w.run(&["promote", "--config", "c.yaml"]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        err.contains("fraud-detector@v1.1.0 already exists with other artifacts")
            && err.contains("re-run to take the next free version")
            && !err.contains("delete"),
        "{err}"
    );
    let writes: Vec<String> = w.gh().requests()[before..]
        .iter()
        .filter(|r| r.method == "DELETE" || r.path.ends_with("/assets") && r.method == "POST")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
    // The re-run takes the next free version.
    let out = w.ok(&["promote", "--config", "c.yaml"]);
    assert!(out.contains("PROMOTED fraud-detector v1.2.0"), "{out}");
}

/// Two promotions of the same candidate: the other run publishes this
/// version and moves production to it just as this run creates its draft.
/// This run's publish meets 422, checks the other release holds the same
/// artifacts (record and bytes), deletes only its own unpublished draft,
/// and ends as "already production": one release, no draft left, no third
/// stage tag.
#[test]
fn two_promotions_of_the_same_candidate_end_consistent() {
    let w = world(Backend::GitHub(FakeGitHub::start()), "");
    w.ok(&["promote", "--config", "a.yaml"]);
    let bytes = std::fs::read(w.path().join("models/c.linfa.json")).unwrap();
    let sha = sha256_file(&w.path().join("models/c.linfa.json"));
    let record = json!({
        "schema": "modelgate.version/v1", "model": "fraud-detector", "version": "v1.1.0",
        "tag": "fraud-detector@v1.1.0", "created_at": "2026-12-01T00:00:00Z", "creator": "another run",
        "commit": COMMIT, "decision": "pass",
        "artifacts": [{"name": "c.linfa.json", "sha256": sha, "size": bytes.len(), "format": "linfa"}],
    });
    w.gh().before("POST", "/releases", move |st| {
        st.add_release(
            "fraud-detector@v1.1.0",
            &format!("Another run's.\n\n<!-- modelgate:version {record} -->\n"),
        );
        for (i, name) in [
            "c.linfa.json",
            "lineage.json",
            "evaluation.json",
            "decision.json",
            "report.md",
        ]
        .into_iter()
        .enumerate()
        {
            let body = if i == 0 { bytes.clone() } else { b"{}".to_vec() };
            let aid = 9000 + i as u64;
            st.blobs.insert(aid, body.clone());
            st.releases.last_mut().unwrap()["assets"]
                .as_array_mut()
                .unwrap()
                .push(json!({"id": aid, "name": name, "state": "uploaded", "size": body.len(),
                             "digest": format!("sha256:{}", hex::encode(sha2::Sha256::digest(&body)))}));
        }
        st.add_promotion(2, "v1.1.0", "v1.0.0", COMMIT);
    });
    let out = w.ok(&["promote", "--config", "c.yaml"]);
    assert!(
        out.contains("another run promoted these artifacts as fraud-detector v1.1.0"),
        "{out}"
    );
    w.gh().with(|s| {
        let tags: Vec<&str> = s
            .releases
            .iter()
            .map(|r| r["tag_name"].as_str().unwrap())
            .collect();
        assert_eq!(
            tags,
            ["fraud-detector@v1.0.0", "fraud-detector@v1.1.0"],
            "no draft left"
        );
        assert!(s.releases.iter().all(|r| r["draft"] == false));
        assert!(!s.refs.contains_key("refs/tags/fraud-detector#production#3"));
    });
}

/// GitHub Enterprise Server: the API under `/api/v3`, uploads under
/// `/api/uploads`. Uploads go to the URL the release returns, not joined
/// under the API's path, and downloads follow their redirect as given.
#[test]
fn github_enterprise_uploads_go_to_the_url_the_release_returns() {
    let w = world(Backend::GitHub(FakeGitHub::start_ghes()), "");
    w.ok(&["promote", "--config", "a.yaml"]);
    // The second promotion downloads the first's artifact to compare.
    let out = w.ok(&["promote", "--config", "c.yaml"]);
    assert!(out.contains("PROMOTED fraud-detector v1.1.0"), "{out}");
    let requests = w.gh().requests();
    let uploads: Vec<&str> = requests
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/assets"))
        .map(|r| r.path.as_str())
        .collect();
    assert_eq!(uploads.len(), 10, "{uploads:?}");
    assert!(
        uploads.iter().all(|p| p.starts_with("/api/uploads/repos/")),
        "{uploads:?}"
    );
    assert!(
        requests.iter().all(|r| r.path.starts_with("/api/v3/")
            || r.path.starts_with("/api/uploads/")
            || r.path.starts_with("/download/")),
        "every request on a GitHub Enterprise path"
    );
}

/// `modelgate verify`: the artifacts against the version record, and the
/// files an auditor holds against the decision's recorded inputs, on both
/// backends; a changed byte is a mismatch (exit 1) naming the file.
#[test]
fn verify_checks_artifacts_and_the_decisions_inputs() {
    for backend in [Backend::Local, Backend::GitHub(FakeGitHub::start())] {
        let local = matches!(backend, Backend::Local);
        let w = world(backend, "");
        w.ok(&["promote", "--config", "a.yaml"]);
        let verify = |extra: &[&str]| {
            let mut args = vec!["verify", "fraud-detector@v1.0.0", "--config", "a.yaml"];
            args.extend_from_slice(extra);
            w.run(&args)
        };
        let (code, out, err) = verify(&[
            "--input",
            "holdout=holdout/holdout.parquet",
            "--input",
            "config=a.yaml",
            "--input",
            "candidate=models/a.linfa.json",
        ]);
        assert_eq!(code, 0, "{out}\n{err}");
        assert!(out.starts_with("VERIFIED fraud-detector v1.0.0"), "{out}");
        assert_eq!(
            out.matches("\nok ").count(),
            4,
            "one artifact and three inputs: {out}"
        );
        // Another holdout than the one judged.
        let (code, out, _) = verify(&["--input", "holdout=train-a/holdout.parquet"]);
        assert_eq!(code, 1, "{out}");
        assert!(
            out.contains("MISMATCH  input holdout train-a/holdout.parquet"),
            "{out}"
        );
        // An input the decision did not record, and a key that is none.
        let (code, _, err) = verify(&["--input", "production=models/c.linfa.json"]);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("records no `production` file"), "{err}");
        let (code, _, err) = verify(&["--input", "weights=x"]);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("`weights` is not an input"), "{err}");
        if local {
            // A tampered artifact in the registry.
            let stored = w
                .path()
                .join("reg/fraud-detector/versions/v1.0.0/artifacts/a.linfa.json");
            let mut bytes = std::fs::read(&stored).unwrap();
            bytes.push(b' ');
            std::fs::write(&stored, bytes).unwrap();
            let (code, out, _) = verify(&[]);
            assert_eq!(code, 1, "{out}");
            assert!(out.contains("MISMATCH  artifact a.linfa.json"), "{out}");
        }
    }
}

/// A release asset's bytes in the fake GitHub, changed in place (as a
/// compromised or hand-edited release would be).
fn tamper_asset(gh: &FakeGitHub, tag: &str, name: &str, f: impl FnOnce(&mut Vec<u8>)) {
    let mut s = gh.state.lock().unwrap();
    let id = s
        .releases
        .iter()
        .find(|r| r["tag_name"] == tag)
        .and_then(|r| r["assets"].as_array()?.iter().find(|a| a["name"] == name))
        .and_then(|a| a["id"].as_u64())
        .unwrap_or_else(|| panic!("{tag} has no asset {name}"));
    f(s.blobs.get_mut(&id).unwrap());
}

/// A decision's number, nudged beyond the replay's tolerance.
fn nudge_auc(decision: &mut Vec<u8>) {
    let mut d: Value = serde_json::from_slice(decision).unwrap();
    let auc = &mut d["evaluation"]["models"]["candidate"]["metrics"]["roc_auc"];
    *auc = json!(auc.as_f64().unwrap() - 1e-6);
    *decision = serde_json::to_vec_pretty(&d).unwrap();
}

/// `verify --replay` runs a promotion's decision again from its inputs:
/// the candidate and production artifacts are found in the registry by the
/// digests the decision recorded, and every verdict and number comes out
/// the same. A changed number, or another holdout, is named (exit 1).
#[test]
fn a_promotion_replays_from_its_release() {
    for backend in [Backend::Local, Backend::GitHub(FakeGitHub::start())] {
        let w = world(backend, "");
        w.ok(&["promote", "--config", "a.yaml"]);
        w.ok(&["promote", "--config", "c.yaml"]);
        let replay = |target: &str, extra: &[&str]| {
            let mut args = vec!["verify", target, "--config", "c.yaml", "--replay"];
            args.extend_from_slice(extra);
            w.run(&args)
        };
        let (code, out, err) = replay("fraud-detector@v1.1.0", &[]);
        assert_eq!(code, 0, "{out}\n{err}");
        assert!(out.starts_with("VERIFIED fraud-detector v1.1.0\n"), "{out}");
        for input in [
            "config c.yaml",
            "holdout holdout/holdout.parquet",
            "candidate ",
            "production ",
        ] {
            assert!(
                out.contains(&format!("\nok        input {input}")),
                "{input}: {out}"
            );
        }
        // Production was v1.0.0's artifact, found in the registry by digest.
        assert!(
            out.contains(&format!(
                "sha256 {}",
                sha256_file(&w.path().join("models/a.linfa.json"))
            )),
            "{out}"
        );
        assert!(
            out.contains("ok        replay: the same decision (pass)"),
            "{out}"
        );

        // A number in the record that the replay does not reproduce.
        let decision = match &w.backend {
            Backend::Local => {
                let path = w
                    .path()
                    .join("reg/fraud-detector/versions/v1.1.0/decision.json");
                let mut bytes = std::fs::read(&path).unwrap();
                nudge_auc(&mut bytes);
                std::fs::write(&path, &bytes).unwrap();
                bytes
            }
            Backend::GitHub(gh) => {
                let mut copy = Vec::new();
                tamper_asset(gh, "fraud-detector@v1.1.0", "decision.json", |b| {
                    nudge_auc(b);
                    copy = b.clone();
                });
                copy
            }
        };
        let (code, out, _) = replay("fraud-detector@v1.1.0", &[]);
        assert_eq!(code, 1, "{out}");
        assert!(
            out.contains("MISMATCH  replay /evaluation/models/candidate/metrics/roc_auc: recorded"),
            "{out}"
        );
        // The same record as a file an auditor downloaded, with a looser
        // tolerance that covers the change.
        std::fs::write(w.path().join("decision.json"), &decision).unwrap();
        let (code, out, _) = replay("decision.json", &["--tolerance", "1e-5"]);
        assert_eq!(code, 0, "{out}");
        assert!(
            out.starts_with("VERIFIED fraud-detector decision decision.json"),
            "{out}"
        );
        // Another holdout: nothing is run.
        let (code, out, _) = replay(
            "decision.json",
            &["--input", "holdout=train-a/holdout.parquet"],
        );
        assert_eq!(code, 1, "{out}");
        assert!(
            out.contains("MISMATCH  input holdout train-a/holdout.parquet"),
            "{out}"
        );
        assert!(out.contains("replay: not run"), "{out}");
        // A decision file is only verified by replaying it.
        let (code, _, err) = w.run(&["verify", "decision.json"]);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("add --replay"), "{err}");
    }
}

/// A fake `gh` that records its arguments and a copy of the file it was
/// asked to verify, prints `statements` as `--format json` does and exits
/// with `code`.
fn fake_gh(w: &World, statements: &Value, code: i32) -> Vec<(String, String)> {
    let bin = w.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::write(w.path().join("gh-out.json"), statements.to_string()).unwrap();
    let script = bin.join("gh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$@\" > \"$FAKE_GH/gh-args\"\ncp \"$3\" \"$FAKE_GH/gh-file\"\n\
             [ \"$1 $2\" = \"attestation verify\" ] || exit 64\n\
             [ {code} = 0 ] || {{ echo 'X Verification failed: no matching attestations' >&2; exit {code}; }}\n\
             cat \"$FAKE_GH/gh-out.json\"\n"
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    vec![
        ("PATH".into(), format!("{}:/usr/bin:/bin", bin.display())),
        ("FAKE_GH".into(), w.path().display().to_string()),
    ]
}

/// `promote --attestation DIR` writes what `actions/attest` signs: the
/// predicate, from the registry's bytes, and the subjects in `sha256sum`'s
/// format. `verify` hands the artifact to `gh attestation verify` and
/// checks the signed statement's subjects and evidence digests against the
/// release assets, so a tampered asset is caught even with a good signature.
#[test]
fn promotion_evidence_is_attested_and_verified_with_gh() {
    let mut w = world(Backend::GitHub(FakeGitHub::start()), "");
    w.ok(&["promote", "--config", "a.yaml", "--attestation", "att"]);
    let predicate: Value = serde_json::from_slice(
        &std::fs::read(w.path().join("att/modelgate-predicate.json")).unwrap(),
    )
    .unwrap();
    let model_sha = sha256_file(&w.path().join("models/a.linfa.json"));
    assert_eq!(predicate["model"], "fraud-detector");
    assert_eq!(predicate["version"], "v1.0.0");
    assert_eq!(predicate["decision"], "pass");
    assert_eq!(predicate["promotion"]["number"], 1);
    assert_eq!(predicate["artifacts"][0]["sha256"], model_sha.as_str());
    assert_eq!(
        predicate["inputs"]["holdout"]["sha256"],
        sha256_file(&w.path().join("holdout/holdout.parquet")).as_str()
    );
    assert_eq!(predicate["gates"].as_array().unwrap().len(), 2);
    let released = |name: &str| {
        w.gh().with(|s| {
            let rel = s
                .releases
                .iter()
                .find(|r| r["tag_name"] == "fraud-detector@v1.0.0")
                .unwrap();
            let id = rel["assets"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["name"] == name)
                .unwrap()["id"]
                .as_u64()
                .unwrap();
            crate::util::sha256(&s.blobs[&id])
        })
    };
    for name in [
        "decision.json",
        "evaluation.json",
        "lineage.json",
        "report.md",
    ] {
        assert_eq!(
            predicate["evidence"][name],
            released(name).as_str(),
            "{name}"
        );
    }
    // The subjects file is what `sha256sum -c` reads.
    let check = std::process::Command::new("sha256sum")
        .arg("-c")
        .arg(w.path().join("att/modelgate-subjects.sha256"))
        .current_dir(w.path().join("models"))
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );

    let statement = |predicate: &Value| {
        json!([{"verificationResult": {"statement": {
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": "a.linfa.json", "digest": {"sha256": model_sha}}],
            "predicateType": "https://modelgate.dev/decision/v1",
            "predicate": predicate,
        }}}])
    };
    // `@v1.0.0`: the config's model, as the example workflow names it.
    let verify = |w: &World| {
        w.run(&[
            "verify",
            "@v1.0.0",
            "--config",
            "a.yaml",
            "--attestation",
            "require",
        ])
    };

    // No gh: `require` is an error, `auto` says it did not check.
    let (code, _, err) = verify(&w);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("`gh` (the GitHub CLI) is not on PATH"),
        "{err}"
    );
    let out = w.ok(&["verify", "fraud-detector@v1.0.0", "--config", "a.yaml"]);
    assert!(out.contains("note      attestation not checked"), "{out}");

    let base = w.extra_env.clone();
    w.extra_env = [base.clone(), fake_gh(&w, &statement(&predicate), 0)].concat();
    let (code, out, err) = verify(&w);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("ok        attestation subject a.linfa.json"),
        "{out}"
    );
    assert!(
        out.contains("ok        attestation evidence decision.json"),
        "{out}"
    );
    let args = std::fs::read_to_string(w.path().join("gh-args")).unwrap();
    assert!(
        args.contains(&format!(
            "--repo {REPO} --predicate-type https://modelgate.dev/decision/v1 --format json"
        )),
        "{args}"
    );
    assert_eq!(
        sha256_file(&w.path().join("gh-file")),
        model_sha,
        "gh was given the artifact"
    );

    // A good signature over other evidence than the release holds.
    tamper_asset(w.gh(), "fraud-detector@v1.0.0", "decision.json", |b| {
        b.push(b'\n')
    });
    let (code, out, _) = verify(&w);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("MISMATCH  attestation evidence decision.json: sha256"),
        "{out}"
    );

    // gh finds no valid attestation.
    w.extra_env = [base.clone(), fake_gh(&w, &json!([]), 1)].concat();
    let (code, out, _) = verify(&w);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("no matching attestations"), "{out}");

    // A statement for another version of these bytes proves nothing here.
    let mut other = predicate.clone();
    other["version"] = json!("v9.0.0");
    w.extra_env = [base, fake_gh(&w, &statement(&other), 0)].concat();
    let (code, out, _) = verify(&w);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("no signed https://modelgate.dev/decision/v1 statement names"),
        "{out}"
    );

    // A local registry has no attestations to require.
    let local = world(Backend::Local, "");
    local.ok(&["promote", "--config", "a.yaml"]);
    let (code, _, err) = local.run(&[
        "verify",
        "fraud-detector@v1.0.0",
        "--config",
        "a.yaml",
        "--attestation",
        "require",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("local registry"), "{err}");
}
