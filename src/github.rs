//! GitHub REST access through octocrab, for the registry, the dispatch and
//! the PR comment.
//!
//! octocrab is the transport (auth, base URI, TLS, timeouts); the calls use
//! its raw request methods because the registry needs what typed wrappers
//! hide: status codes for idempotency (422 `already_exists`), rate-limit
//! headers to honour, and upload URLs taken from release objects. Everything
//! goes through [`GitHub::request`], so retries and permission errors behave
//! the same for every call, and tests point `GITHUB_API_URL` at a local fake.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method};
use octocrab::Octocrab;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// The default public API.
pub const DEFAULT_API_URL: &str = "https://api.github.com";
const JSON: &str = "application/vnd.github+json";
/// Attempts per call (first try included) for 5xx, timeouts and rate limits.
const ATTEMPTS: u32 = 4;
/// Longest wait modelgate accepts from `retry-after` or `x-ratelimit-reset`.
const MAX_WAIT: Duration = Duration::from_secs(120);

/// A GitHub repository client.
pub struct GitHub {
    crab: Octocrab,
    /// For absolute URLs (uploads, redirects to storage): octocrab joins
    /// the API's base path to every request path, which sends GitHub
    /// Enterprise's `/api/uploads/…` to `/api/v3/api/uploads/…`. This
    /// client's base is the upload host's root, so a URL GitHub returns is
    /// used as it is.
    uploader: Octocrab,
    rt: tokio::runtime::Runtime,
    /// `owner/name`.
    pub repository: String,
    pub api_url: String,
}

impl std::fmt::Debug for GitHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the client: it holds the token.
        write!(f, "GitHub({} at {})", self.repository, self.api_url)
    }
}

/// A response with everything the callers decide on.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Response {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn json<T: DeserializeOwned>(&self, what: &str) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| Error::GitHub {
            method: "parse".into(),
            path: what.into(),
            message: format!("unexpected response body: {e}"),
            source: None,
        })
    }

    /// GitHub's `message`, plus the codes of its `errors` list.
    pub fn message(&self) -> String {
        // An error body that is not GitHub's shape (a proxy's HTML page)
        // still gets the status line below.
        let body: ErrorBody = serde_json::from_slice(&self.body).unwrap_or_default();
        let mut m = body.message;
        let codes: Vec<String> = body
            .errors
            .into_iter()
            .filter_map(|e| match e {
                ErrorItem::Object { code } => code,
                ErrorItem::Text(t) => Some(t),
                ErrorItem::Other(_) => None,
            })
            .collect();
        if !codes.is_empty() {
            m = format!("{m} ({})", codes.join(", "));
        }
        if m.is_empty() {
            format!("HTTP {}", self.status)
        } else {
            format!("HTTP {}: {m}", self.status)
        }
    }

    /// A 422 saying the thing to create exists already.
    pub fn already_exists(&self) -> bool {
        self.status == 422 && {
            let text = String::from_utf8_lossy(&self.body);
            text.contains("already_exists") || text.contains("already exists")
        }
    }
}

/// GitHub's error body ("Basic Error" and "Validation Error").
#[derive(Debug, Default, serde::Deserialize)]
struct ErrorBody {
    #[serde(default)]
    message: String,
    #[serde(default)]
    errors: Vec<ErrorItem>,
}

/// One entry of `errors`: an object with a `code`, or a bare message.
#[derive(Debug, serde::Deserialize)]
#[serde(untagged)]
enum ErrorItem {
    Object { code: Option<String> },
    Text(String),
    Other(serde::de::IgnoredAny),
}

/// One HTTP call as [`GitHub::send`] makes it.
struct Call<'a> {
    method: Method,
    path: &'a str,
    body: Option<Bytes>,
    content_type: &'a str,
    accept: &'a str,
    permission: Permission,
    attempts: u32,
}

/// Which permission a call needs, named in the error when it is missing.
#[derive(Debug, Clone, Copy)]
pub enum Permission {
    ContentsRead,
    ContentsWrite,
    PullRequestsWrite,
    DeploymentsWrite,
}

impl Permission {
    fn workflow_text(self) -> &'static str {
        match self {
            Permission::ContentsRead => "contents: read",
            Permission::ContentsWrite => "contents: write",
            Permission::PullRequestsWrite => "pull-requests: write",
            Permission::DeploymentsWrite => "deployments: write",
        }
    }
}

impl GitHub {
    /// A client from `GITHUB_API_URL`, the repository (else
    /// `$GITHUB_REPOSITORY`) and the token in `token_env`.
    pub fn from_env(repository: Option<&str>, token_env: &str) -> Result<GitHub> {
        let api_url = std::env::var("GITHUB_API_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| DEFAULT_API_URL.into());
        let repository = repository
            .map(str::to_string)
            .or_else(|| std::env::var("GITHUB_REPOSITORY").ok())
            .filter(|r| !r.is_empty())
            .ok_or_else(|| {
                Error::Usage(
                    "no GitHub repository: set `registry.repository: owner/name` or GITHUB_REPOSITORY".into(),
                )
            })?;
        if !crate::config::valid_repository(&repository) {
            return Err(Error::Usage(format!(
                "GitHub repository `{repository}` is not `owner/name`"
            )));
        }
        let token = std::env::var(token_env)
            .ok()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                Error::Usage(format!(
                    "no GitHub token: set {token_env} (in a workflow: `env: {token_env}: ${{{{ secrets.GITHUB_TOKEN }}}}`), or use `--dry-run` or a local registry"
                ))
            })?;
        if std::env::var("GITHUB_ACTIONS").as_deref() == Ok("true") && token_env != "GITHUB_TOKEN" {
            // Runner-provided secrets are masked already; a token from another
            // variable may not be.
            println!("::add-mask::{token}");
        }
        GitHub::new(&api_url, &repository, Some(token))
    }

    /// A client for an explicit API URL; `token` may be absent for public reads.
    pub fn new(api_url: &str, repository: &str, token: Option<String>) -> Result<GitHub> {
        let api_url = api_url.trim_end_matches('/').to_string();
        let build_err = |e: octocrab::Error| Error::GitHub {
            method: "setup".into(),
            path: api_url.clone(),
            message: "cannot build the GitHub client".into(),
            source: Some(Box::new(e)),
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::io("cannot start the HTTP runtime for", &api_url, e))?;
        let client = |base: &str, token: Option<String>| -> Result<Octocrab> {
            let _guard = rt.enter();
            let mut b = Octocrab::builder()
                .base_uri(base)
                .map_err(build_err)?
                // Uploads go to the host the release's upload_url names; on
                // GitHub Enterprise and in tests that is the API host itself.
                .upload_uri(upload_base(&api_url).as_str())
                .map_err(build_err)?
                .set_connect_timeout(Some(Duration::from_secs(10)))
                .set_read_timeout(Some(Duration::from_secs(60)))
                .set_write_timeout(Some(Duration::from_secs(60)));
            if let Some(t) = token {
                b = b.personal_token(t);
            }
            b.build().map_err(build_err)
        };
        let crab = client(&api_url, token.clone())?;
        let uploader = client(&upload_base(&api_url), token)?;
        Ok(GitHub {
            crab,
            uploader,
            rt,
            repository: repository.to_string(),
            api_url,
        })
    }

    /// `/repos/{owner}/{name}` plus `rest`.
    pub fn repo_path(&self, rest: &str) -> String {
        format!("/repos/{}{rest}", self.repository)
    }

    /// Sends a JSON request, retrying 5xx, timeouts and rate limits, and
    /// returns the final response whatever its status; callers decide what
    /// a 404 or 422 means. A missing permission becomes an error naming it.
    pub fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
        permission: Permission,
    ) -> Result<Response> {
        let bytes = body.map(|b| Bytes::from(b.to_string()));
        self.send(Call {
            method,
            path,
            body: bytes,
            content_type: "application/json",
            accept: JSON,
            permission,
            attempts: ATTEMPTS,
        })
    }

    /// Downloads raw bytes (a release asset); `path` may be a redirect's
    /// absolute URL, which then gets no token.
    pub fn request_octet(&self, path: &str) -> Result<Response> {
        self.send(Call {
            method: Method::GET,
            path,
            body: None,
            content_type: "application/json",
            accept: "application/octet-stream",
            permission: Permission::ContentsRead,
            attempts: ATTEMPTS,
        })
    }

    /// Uploads raw bytes to an upload URL, once: a failed upload may leave a
    /// half-made asset that the caller must delete before trying again.
    pub fn upload(&self, url: &str, bytes: Vec<u8>) -> Result<Response> {
        self.send(Call {
            method: Method::POST,
            path: url,
            body: Some(Bytes::from(bytes)),
            content_type: "application/octet-stream",
            accept: JSON,
            permission: Permission::ContentsWrite,
            attempts: 1,
        })
    }

    /// Like [`request`](Self::request) but a non-2xx status is an error.
    pub fn expect(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
        permission: Permission,
    ) -> Result<Response> {
        let r = self.request(method.clone(), path, body, permission)?;
        if r.ok() {
            Ok(r)
        } else {
            Err(self.status_error(&method, path, &r, permission))
        }
    }

    pub fn status_error(
        &self,
        method: &Method,
        path: &str,
        r: &Response,
        permission: Permission,
    ) -> Error {
        let mut message = r.message();
        if matches!(r.status, 401) {
            message.push_str("; the token is invalid or expired");
        } else if matches!(r.status, 403 | 404) && !matches!(method, &Method::GET)
            || r.status == 403
        {
            message.push_str(&format!(
                "; the token may lack the `{}` permission (workflow `permissions:` block) or access to {}",
                permission.workflow_text(),
                self.repository
            ));
        }
        Error::GitHub {
            method: method.to_string(),
            path: path.to_string(),
            message,
            source: None,
        }
    }

    fn send(&self, call: Call<'_>) -> Result<Response> {
        let Call {
            method,
            path,
            body,
            content_type,
            accept,
            permission,
            attempts,
        } = call;
        // An absolute URL (an upload URL, a redirect to storage) is used as
        // it is; a path joins the API's base.
        let crab = if path.starts_with("http://") || path.starts_with("https://") {
            &self.uploader
        } else {
            &self.crab
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut builder = http::Request::builder()
                .method(method.clone())
                .uri(path)
                .header(http::header::ACCEPT, accept)
                .header("X-GitHub-Api-Version", "2022-11-28")
                .header(
                    http::header::USER_AGENT,
                    concat!("modelgate/", env!("CARGO_PKG_VERSION")),
                );
            let body = body.clone().unwrap_or_default();
            if !body.is_empty() || method != Method::GET {
                builder = builder
                    .header(http::header::CONTENT_TYPE, content_type)
                    .header(http::header::CONTENT_LENGTH, body.len());
            }
            let request = builder.body(body).map_err(|e| Error::GitHub {
                method: method.to_string(),
                path: path.to_string(),
                message: format!("cannot build the request: {e}"),
                source: None,
            })?;
            let result = self.rt.block_on(async {
                let response = crab.execute(request).await?;
                let (parts, body) = response.into_parts();
                let body = http_body_util::BodyExt::collect(body).await?.to_bytes();
                Ok::<_, octocrab::Error>(Response {
                    status: parts.status.as_u16(),
                    headers: parts.headers,
                    body,
                })
            });
            let wait = match &result {
                Err(_) => Some(backoff(attempt)),
                Ok(r) => retry_wait(r, attempt),
            };
            match (result, wait) {
                (Ok(r), Some(w)) if attempt < attempts && w <= MAX_WAIT => {
                    crate::progress::note(&format!(
                        "GitHub {method} {path}: {}; retrying in {:.1}s",
                        r.message(),
                        w.as_secs_f64()
                    ));
                    std::thread::sleep(w);
                }
                (Err(e), Some(w)) if attempt < attempts => {
                    crate::progress::note(&format!(
                        "GitHub {method} {path}: {e}; retrying in {:.1}s",
                        w.as_secs_f64()
                    ));
                    std::thread::sleep(w);
                }
                (Ok(r), _) => {
                    if r.status == 403 && r.message().contains("Resource not accessible") {
                        return Err(self.status_error(&method, path, &r, permission));
                    }
                    return Ok(r);
                }
                (Err(e), _) => {
                    return Err(Error::GitHub {
                        method: method.to_string(),
                        path: path.to_string(),
                        message: format!("request failed after {attempt} attempts"),
                        source: Some(Box::new(e)),
                    });
                }
            }
        }
    }
}

/// `https://api.github.com` uploads to `https://uploads.github.com`; GitHub
/// Enterprise (`https://host/api/v3`, uploads under `https://host/api/uploads`)
/// and test servers upload to their own host: its root, with no path.
fn upload_base(api_url: &str) -> String {
    if api_url == DEFAULT_API_URL {
        return "https://uploads.github.com".into();
    }
    match api_url.parse::<http::Uri>() {
        Ok(uri) => match (uri.scheme_str(), uri.authority()) {
            (Some(scheme), Some(authority)) => format!("{scheme}://{authority}"),
            _ => api_url.to_string(),
        },
        Err(_) => api_url.to_string(),
    }
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(500 * 2u64.pow(attempt.saturating_sub(1).min(6)))
}

/// How long to wait before retrying, or `None` when the response is final.
/// Follows GitHub's guidance: honour `retry-after`; on an exhausted quota
/// wait until `x-ratelimit-reset`; back off exponentially on 5xx.
fn retry_wait(r: &Response, attempt: u32) -> Option<Duration> {
    let header = |k: &str| {
        r.headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    let limited = r.status == 429
        || (r.status == 403
            && (r.headers.contains_key("retry-after")
                || header("x-ratelimit-remaining") == Some(0)
                || String::from_utf8_lossy(&r.body).contains("rate limit")));
    if limited {
        if let Some(s) = header("retry-after") {
            return Some(Duration::from_secs(s));
        }
        if let Some(reset) = header("x-ratelimit-reset") {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            return Some(Duration::from_secs(reset.saturating_sub(now) + 1));
        }
        // Secondary limits without headers: GitHub asks for at least a minute.
        return Some(Duration::from_secs(60));
    }
    (r.status >= 500).then(|| backoff(attempt))
}

/// Percent-encodes one path segment (tags contain `@` and `#`).
pub fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, headers: &[(&str, &str)], body: &str) -> Response {
        let mut h = HeaderMap::new();
        for (k, v) in headers {
            h.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        Response {
            status,
            headers: h,
            body: Bytes::from(body.to_string()),
        }
    }

    #[test]
    fn retry_policy_follows_github_guidance() {
        let r = response(429, &[("retry-after", "3")], "");
        assert_eq!(retry_wait(&r, 1), Some(Duration::from_secs(3)));
        let r = response(
            403,
            &[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "0")],
            "",
        );
        assert_eq!(retry_wait(&r, 1), Some(Duration::from_secs(1)));
        let r = response(
            403,
            &[],
            r#"{"message":"Resource not accessible by integration"}"#,
        );
        assert_eq!(retry_wait(&r, 1), None);
        assert_eq!(
            retry_wait(&response(502, &[], ""), 2),
            Some(Duration::from_secs(1))
        );
        assert_eq!(retry_wait(&response(422, &[], ""), 1), None);
    }

    #[test]
    fn messages_and_already_exists() {
        let r = response(
            422,
            &[],
            r#"{"message":"Validation Failed","errors":[{"resource":"Release","code":"already_exists","field":"tag_name"}]}"#,
        );
        assert!(r.already_exists());
        assert_eq!(r.message(), "HTTP 422: Validation Failed (already_exists)");
    }

    #[test]
    fn segments_encode_tag_characters() {
        assert_eq!(
            encode_segment("fraud#production#3"),
            "fraud%23production%233"
        );
        assert_eq!(encode_segment("fraud@v1.2.0"), "fraud%40v1.2.0");
    }
}
