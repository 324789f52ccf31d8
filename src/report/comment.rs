//! The sticky pull-request comment: one per model, found again by a hidden
//! marker and edited in place, so a PR shows the latest decision instead of
//! a new comment per push. Posting is best effort: a failure (for example a
//! token without `pull-requests: write`) is a workflow warning, never a
//! change to the decision or the exit code.

use std::path::Path;

use http::Method;
use serde_json::{Value, json};

use crate::decision::Decision;
use crate::error::{Error, Result};
use crate::github::{GitHub, Permission};

/// GitHub's limit for a comment body is 65,536 characters.
const MAX_BODY: usize = 60_000;

/// The hidden marker of a model's comment.
pub fn marker(model: &str) -> String {
    format!("<!-- modelgate:comment model={model} -->")
}

/// The pull request this workflow run is for, from the event payload.
pub fn pull_request_number() -> Option<u64> {
    let path = std::env::var_os("GITHUB_EVENT_PATH")?;
    let event: Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    event["pull_request"]["number"].as_u64().or_else(|| {
        event["issue"]["pull_request"]
            .is_object()
            .then(|| event["issue"]["number"].as_u64())
            .flatten()
    })
}

/// Posts or updates the comment; reports problems as workflow warnings.
pub fn post(d: &Decision, markdown: &str, _config: &Path) {
    let Some(pr) = pull_request_number() else {
        crate::progress::note("--comment: not a pull-request event; no comment posted");
        return;
    };
    let result =
        GitHub::from_env(None, "GITHUB_TOKEN").and_then(|gh| upsert(&gh, pr, &d.model, markdown));
    match result {
        Ok(url) => crate::progress::note(&format!("PR comment: {url}")),
        Err(e) => println!(
            "::warning title=modelgate PR comment::{}",
            format!("{e:#}").replace('\n', " ")
        ),
    }
}

/// Creates the model's comment on pull request `pr`, or edits the one that
/// carries its marker. Returns the comment's URL.
pub fn upsert(gh: &GitHub, pr: u64, model: &str, markdown: &str) -> Result<String> {
    let mark = marker(model);
    let body = format!(
        "{mark}\n{}",
        crate::report::actions::truncate_summary(markdown, MAX_BODY)
    );
    let mut existing = None;
    for page in 1.. {
        let path = gh.repo_path(&format!("/issues/{pr}/comments?per_page=100&page={page}"));
        let r = gh.expect(Method::GET, &path, None, Permission::PullRequestsWrite)?;
        let comments: Vec<Value> = r.json("comments")?;
        existing = comments
            .iter()
            .find(|c| c["body"].as_str().is_some_and(|b| b.starts_with(&mark)))
            .and_then(|c| c["id"].as_u64());
        if existing.is_some() || comments.len() < 100 {
            break;
        }
    }
    let payload = json!({ "body": body });
    let r = match existing {
        Some(id) => gh.expect(
            Method::PATCH,
            &gh.repo_path(&format!("/issues/comments/{id}")),
            Some(&payload),
            Permission::PullRequestsWrite,
        )?,
        None => gh.expect(
            Method::POST,
            &gh.repo_path(&format!("/issues/{pr}/comments")),
            Some(&payload),
            Permission::PullRequestsWrite,
        )?,
    };
    let v: Value = r.json("comment")?;
    v["html_url"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| Error::GitHub {
            method: "parse".into(),
            path: "comment".into(),
            message: "the response has no html_url".into(),
            source: None,
        })
}
