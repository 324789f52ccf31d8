//! A stateful fake of the GitHub REST API endpoints modelgate uses, served
//! on 127.0.0.1 for the registry tests. It validates the request shapes
//! GitHub documents (github/docs `src/rest/data/fpt-2022-11-28/{releases,
//! repos,git}.json`): required body fields, the upload URL's `name`, the
//! dispatch body. Faults can be injected per route to test re-runs.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub use crate::http::Request;
use crate::http::{Reply, decode, serve};

pub const TOKEN: &str = "ghs_faketoken_0123456789";
pub const REPO: &str = "acme/fraud";

/// A response to force on the `nth` matching request (0 = the next one),
/// `times` times in a row.
#[derive(Debug, Clone)]
pub struct Fault {
    pub method: &'static str,
    pub path_contains: String,
    pub status: u16,
    pub body: String,
    pub headers: Vec<(String, String)>,
    pub times: usize,
    /// Matching requests to let through before the fault fires.
    pub skip: usize,
    /// For uploads: leave a half-made asset in state `starter`.
    pub leave_starter: bool,
}

impl Fault {
    pub fn new(method: &'static str, path_contains: &str, status: u16) -> Fault {
        Fault {
            method,
            path_contains: path_contains.into(),
            status,
            body: json!({"message": format!("injected {status}")}).to_string(),
            headers: Vec::new(),
            times: 1,
            skip: 0,
            leave_starter: false,
        }
    }

    /// GitHub's answer to a token without the permission.
    pub fn forbidden(method: &'static str, path_contains: &str) -> Fault {
        let mut f = Fault::new(method, path_contains, 403);
        f.body = json!({"message": "Resource not accessible by integration"}).to_string();
        f
    }
}

/// Something another client does just before a chosen request is served:
/// a forced interleaving (another run's promotion landing mid-way).
pub struct Hook {
    pub method: &'static str,
    pub path_contains: String,
    pub action: Box<dyn FnOnce(&mut State) + Send>,
}

#[derive(Default)]
pub struct State {
    pub requests: Vec<Request>,
    pub releases: Vec<Value>,
    /// Asset bytes by id.
    pub blobs: BTreeMap<u64, Vec<u8>>,
    /// `refs/tags/...` → (sha, object type).
    pub refs: BTreeMap<String, (String, String)>,
    /// Tag objects by sha.
    pub tags: BTreeMap<String, Value>,
    pub dispatches: Vec<Value>,
    /// Deployments, each with its `statuses`.
    pub deployments: Vec<Value>,
    /// Issue comments on pull request 7 (the only PR the fake knows).
    pub comments: Vec<Value>,
    pub faults: Vec<Fault>,
    pub hooks: Vec<Hook>,
    /// The repository setting "immutable releases": a published release's
    /// assets can be neither uploaded, changed nor deleted, and its tag
    /// cannot be deleted. On unless a test turns it off.
    pub immutable: bool,
    /// Serve as GitHub Enterprise Server does: the API under `/api/v3`,
    /// uploads under `/api/uploads`; any other path is not found.
    pub ghes: bool,
    next_id: u64,
}

impl State {
    /// Another run's annotated tag `name` with `message`, as modelgate
    /// writes its stage tags.
    pub fn add_tag(&mut self, name: &str, message: &str, commit: &str) {
        let sha = sha_of(format!("{name}{message}").as_bytes())[..40].to_string();
        self.tags.insert(
            sha.clone(),
            json!({"sha": sha, "tag": name, "message": message,
                   "object": {"sha": commit, "type": "commit"}}),
        );
        self.refs
            .insert(format!("refs/tags/{name}"), (sha, "tag".into()));
    }

    /// Another run's promotion `n` of `version` of fraud-detector, as
    /// modelgate writes its stage tags (a promotion JSON in the message).
    pub fn add_promotion(&mut self, n: u64, version: &str, previous: &str, commit: &str) {
        let tag = format!("fraud-detector#production#{n}");
        let promotion = json!({
            "schema": "modelgate.promotion/v1", "model": "fraud-detector", "number": n,
            "alias": "production", "version": version, "tag": tag,
            "previous": previous, "at": "2026-12-01T00:00:00Z", "by": "another run",
            "decision": "the other run's gates passed",
        });
        let message = format!("Promoting fraud-detector {version} to production\n\n{promotion}\n");
        self.add_tag(&tag, &message, commit);
    }

    /// Another run's published release.
    pub fn add_release(&mut self, tag: &str, body: &str) {
        self.next_id += 1;
        let id = self.next_id;
        self.releases.push(json!({
            "id": id, "tag_name": tag, "name": tag, "body": body, "draft": false,
            "immutable": self.immutable,
            "html_url": format!("https://github.com/{REPO}/releases/tag/{tag}"),
            "upload_url": format!("http://127.0.0.1/repos/{REPO}/releases/{id}/assets{{?name,label}}"),
            "assets": [],
        }));
    }
}

pub struct FakeGitHub {
    pub url: String,
    pub state: Arc<Mutex<State>>,
}

impl FakeGitHub {
    pub fn start() -> FakeGitHub {
        Self::serving(false)
    }

    /// A fake on GitHub Enterprise Server's paths; its API is at
    /// [`FakeGitHub::api_url`].
    pub fn start_ghes() -> FakeGitHub {
        Self::serving(true)
    }

    /// What `GITHUB_API_URL` is for this fake.
    pub fn api_url(&self) -> String {
        if self.state.lock().unwrap().ghes {
            format!("{}/api/v3", self.url)
        } else {
            self.url.clone()
        }
    }

    fn serving(ghes: bool) -> FakeGitHub {
        let state = Arc::new(Mutex::new(State {
            next_id: 100,
            immutable: true,
            ghes,
            ..State::default()
        }));
        let s = state.clone();
        let url = serve(move |req| {
            // Upload URLs point back at this server, as GitHub's do at uploads.github.com.
            let base = format!("http://{}", req.header("host").unwrap_or("127.0.0.1"));
            let (status, mut headers, body) = handle(req, &s, &base);
            headers.push(("content-type".into(), "application/json".into()));
            (status, headers, body)
        });
        FakeGitHub { url, state }
    }

    pub fn inject(&self, f: Fault) {
        self.state.lock().unwrap().faults.push(f);
    }

    /// Runs `action` on the state just before the next request matching
    /// `method` and `path_contains` is served.
    pub fn before(
        &self,
        method: &'static str,
        path_contains: &str,
        action: impl FnOnce(&mut State) + Send + 'static,
    ) {
        self.state.lock().unwrap().hooks.push(Hook {
            method,
            path_contains: path_contains.into(),
            action: Box::new(action),
        });
    }

    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().unwrap().requests.clone()
    }

    pub fn with<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        f(&self.state.lock().unwrap())
    }
}

fn reply(status: u16, v: Value) -> Reply {
    let body = if v.is_null() {
        Vec::new()
    } else {
        v.to_string().into_bytes()
    };
    (status, Vec::new(), body)
}

fn invalid(msg: &str) -> Reply {
    reply(
        422,
        json!({"message": "Validation Failed", "errors": [msg]}),
    )
}

fn sha_of(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn handle(req: &Request, state: &Mutex<State>, base: &str) -> Reply {
    let mut st = state.lock().unwrap();
    st.requests.push(req.clone());
    // On GitHub Enterprise's paths, the routes below see GitHub.com's.
    let mut local = req.clone();
    if st.ghes && !req.path.starts_with("/download/") {
        match ["/api/v3/", "/api/uploads/"]
            .iter()
            .find_map(|p| req.path.strip_prefix(p.trim_end_matches('/')))
        {
            Some(rest) if rest.starts_with('/') && !rest.starts_with("/api/") => {
                local.path = rest.to_string();
            }
            _ => {
                return reply(
                    404,
                    json!({"message": format!("not a GitHub Enterprise path: {}", req.path)}),
                );
            }
        }
    }
    let req = &local;
    if let Some(i) = st
        .hooks
        .iter()
        .position(|h| h.method == req.method && req.path.contains(&h.path_contains))
    {
        let hook = st.hooks.remove(i);
        (hook.action)(&mut st);
    }
    let repo = format!("/repos/{REPO}");

    // Downloads from "storage" need no token (like GitHub's signed URLs).
    if let Some(id) = req.path.strip_prefix("/download/") {
        let id: u64 = id.parse().unwrap_or(0);
        return match st.blobs.get(&id) {
            Some(b) => (200, Vec::new(), b.clone()),
            None => reply(404, json!({"message": "Not Found"})),
        };
    }
    if req.header("authorization") != Some(&format!("Bearer {TOKEN}")) {
        return reply(401, json!({"message": "Bad credentials"}));
    }
    let matching = st
        .faults
        .iter()
        .position(|f| f.method == req.method && req.path.contains(&f.path_contains) && f.times > 0);
    if let Some(i) = matching
        && st.faults[i].skip > 0
    {
        st.faults[i].skip -= 1;
    } else if let Some(i) = matching {
        st.faults[i].times -= 1;
        let f = st.faults[i].clone();
        if f.leave_starter
            && let Some(name) = query_param(&req.query, "name")
        {
            let rid: u64 = req
                .path
                .split('/')
                .nth(5)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            st.next_id += 1;
            let id = st.next_id;
            if let Some(rel) = st.releases.iter_mut().find(|r| r["id"] == rid) {
                rel["assets"].as_array_mut().unwrap().push(json!({
                    "id": id, "name": name, "state": "starter", "size": 0
                }));
            }
        }
        return (f.status, f.headers.clone(), f.body.into_bytes());
    }
    let Some(rest) = req.path.strip_prefix(&repo) else {
        return reply(404, json!({"message": "Not Found"}));
    };
    let body = req.json();
    match (req.method.as_str(), rest) {
        ("GET", r) if r.starts_with("/releases/tags/") => {
            // Drafts are not served by tag.
            let tag = &r["/releases/tags/".len()..];
            match st
                .releases
                .iter()
                .find(|x| x["tag_name"] == tag && x["draft"] != true)
            {
                Some(rel) => reply(200, public(rel)),
                None => reply(404, json!({"message": "Not Found"})),
            }
        }
        ("GET", "/releases") => {
            let page: usize = query_param(&req.query, "page")
                .and_then(|p| p.parse().ok())
                .unwrap_or(1);
            let per: usize = query_param(&req.query, "per_page")
                .and_then(|p| p.parse().ok())
                .unwrap_or(30);
            let list: Vec<Value> = st
                .releases
                .iter()
                .rev()
                .skip((page - 1) * per)
                .take(per)
                .map(public)
                .collect();
            reply(200, Value::Array(list))
        }
        ("POST", "/releases") => {
            let Some(tag) = body["tag_name"].as_str() else {
                return invalid("tag_name is required");
            };
            // Drafts do not hold their tag; a published release does.
            if st
                .releases
                .iter()
                .any(|r| r["tag_name"] == tag && r["draft"] != true)
            {
                return reply(
                    422,
                    json!({"message": "Validation Failed", "errors": [{"resource": "Release", "code": "already_exists", "field": "tag_name"}]}),
                );
            }
            if !st.refs.contains_key(&format!("refs/tags/{tag}")) {
                return invalid("modelgate must create the tag before the release");
            }
            st.next_id += 1;
            let id = st.next_id;
            let rel = json!({
                "id": id,
                "tag_name": tag,
                "name": body["name"],
                "body": body["body"],
                "draft": body["draft"].as_bool().unwrap_or(false),
                "immutable": false,
                "html_url": format!("https://github.com/{REPO}/releases/tag/{tag}"),
                "upload_url": format!(
                    "{base}{}/repos/{REPO}/releases/{id}/assets{{?name,label}}",
                    if st.ghes { "/api/uploads" } else { "" }
                ),
                "assets": [],
            });
            st.releases.push(rel.clone());
            reply(201, public(&rel))
        }
        ("GET", r) if r.starts_with("/releases/") && r.ends_with("/assets") => {
            let id: u64 = r
                .split('/')
                .nth(2)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            match st.releases.iter().find(|x| x["id"] == id) {
                Some(rel) => reply(200, rel["assets"].clone()),
                None => reply(404, json!({"message": "Not Found"})),
            }
        }
        ("POST", r) if r.starts_with("/releases/") && r.ends_with("/assets") => {
            let id: u64 = r
                .split('/')
                .nth(2)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let Some(name) = query_param(&req.query, "name") else {
                return invalid("the upload URL needs ?name=");
            };
            if req.header("content-type") != Some("application/octet-stream") {
                return invalid("uploads are application/octet-stream");
            }
            st.next_id += 1;
            let aid = st.next_id;
            let Some(rel) = st.releases.iter_mut().find(|x| x["id"] == id) else {
                return reply(404, json!({"message": "Not Found"}));
            };
            if rel["immutable"] == true {
                return reply(
                    422,
                    json!({"message": "Cannot upload assets to an immutable release."}),
                );
            }
            if rel["assets"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["name"] == name.as_str())
            {
                return reply(
                    422,
                    json!({"message": "Validation Failed", "errors": [{"resource": "ReleaseAsset", "code": "already_exists", "field": "name"}]}),
                );
            }
            let asset = json!({
                "id": aid, "name": name, "state": "uploaded", "size": req.body.len(),
                "digest": format!("sha256:{}", sha_of(&req.body)),
                "content_type": "application/octet-stream",
            });
            rel["assets"].as_array_mut().unwrap().push(asset.clone());
            st.blobs.insert(aid, req.body.clone());
            reply(201, asset)
        }
        ("DELETE", r) if r.starts_with("/releases/assets/") => {
            let aid: u64 = r
                .rsplit('/')
                .next()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let locked = st.releases.iter().any(|rel| {
                rel["immutable"] == true
                    && rel["assets"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|a| a["id"] == aid)
            });
            if locked {
                return reply(
                    422,
                    json!({"message": "Cannot delete assets of an immutable release."}),
                );
            }
            for rel in st.releases.iter_mut() {
                rel["assets"]
                    .as_array_mut()
                    .unwrap()
                    .retain(|a| a["id"] != aid);
            }
            st.blobs.remove(&aid);
            reply(204, Value::Null)
        }
        ("PATCH", r) if r.starts_with("/releases/") && !r.contains("/assets") => {
            let id: u64 = r
                .rsplit('/')
                .next()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let Some(i) = st.releases.iter().position(|x| x["id"] == id) else {
                return reply(404, json!({"message": "Not Found"}));
            };
            if body["draft"] == false && st.releases[i]["draft"] == true {
                let tag = st.releases[i]["tag_name"].clone();
                if st
                    .releases
                    .iter()
                    .any(|x| x["tag_name"] == tag && x["draft"] != true)
                {
                    return reply(
                        422,
                        json!({"message": "Validation Failed", "errors": [{"resource": "Release", "code": "already_exists", "field": "tag_name"}]}),
                    );
                }
                let immutable = st.immutable;
                st.releases[i]["draft"] = Value::Bool(false);
                st.releases[i]["immutable"] = Value::Bool(immutable);
            }
            // Title and notes stay editable, immutable or not.
            if let Some(text) = body["body"].as_str() {
                st.releases[i]["body"] = Value::from(text);
            }
            reply(200, public(&st.releases[i]))
        }
        ("DELETE", r) if r.starts_with("/releases/") && !r.contains("/assets") => {
            let id: u64 = r
                .rsplit('/')
                .next()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let before = st.releases.len();
            st.releases.retain(|x| x["id"] != id);
            if st.releases.len() == before {
                return reply(404, json!({"message": "Not Found"}));
            }
            reply(204, Value::Null)
        }
        ("GET", r) if r.starts_with("/releases/assets/") => {
            let aid: u64 = r
                .rsplit('/')
                .next()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            if req.header("accept") != Some("application/octet-stream") {
                return invalid("asset downloads need Accept: application/octet-stream");
            }
            (
                302,
                vec![("location".into(), format!("{base}/download/{aid}"))],
                Vec::new(),
            )
        }
        ("GET", r) if r.starts_with("/git/ref/tags/") => {
            let name = format!("refs/tags/{}", &r["/git/ref/tags/".len()..]);
            match st.refs.get(&name) {
                Some((sha, ty)) => reply(
                    200,
                    json!({"ref": name, "object": {"sha": sha, "type": ty}}),
                ),
                None => reply(404, json!({"message": "Not Found"})),
            }
        }
        ("GET", r) if r.starts_with("/git/matching-refs/tags/") => {
            let prefix = format!("refs/tags/{}", &r["/git/matching-refs/tags/".len()..]);
            let list: Vec<Value> = st
                .refs
                .iter()
                .filter(|(k, _)| k.starts_with(&prefix))
                .map(|(k, (sha, ty))| json!({"ref": k, "object": {"sha": sha, "type": ty}}))
                .collect();
            reply(200, Value::Array(list))
        }
        ("POST", "/git/tags") => {
            for f in ["tag", "message", "object", "type"] {
                if !body[f].is_string() {
                    return invalid(&format!("{f} is required"));
                }
            }
            if body["type"] != "commit" {
                return invalid("type must be commit here");
            }
            let sha = sha_of(body.to_string().as_bytes())[..40].to_string();
            let obj = json!({
                "sha": sha, "tag": body["tag"], "message": body["message"],
                "object": {"sha": body["object"], "type": "commit"},
            });
            st.tags.insert(sha.clone(), obj.clone());
            reply(201, obj)
        }
        ("GET", r) if r.starts_with("/git/tags/") => match st.tags.get(&r["/git/tags/".len()..]) {
            Some(t) => reply(200, t.clone()),
            None => reply(404, json!({"message": "Not Found"})),
        },
        ("POST", "/git/refs") => {
            let (Some(name), Some(sha)) = (body["ref"].as_str(), body["sha"].as_str()) else {
                return invalid("ref and sha are required");
            };
            if !name.starts_with("refs/") || name.matches('/').count() < 2 {
                return invalid("ref must start with refs/ and have two slashes");
            }
            if st.refs.contains_key(name) {
                return reply(422, json!({"message": "Reference already exists"}));
            }
            let ty = if st.tags.contains_key(sha) {
                "tag"
            } else {
                "commit"
            };
            st.refs
                .insert(name.to_string(), (sha.to_string(), ty.to_string()));
            reply(
                201,
                json!({"ref": name, "object": {"sha": sha, "type": ty}}),
            )
        }
        ("DELETE", r) if r.starts_with("/git/refs/tags/") => {
            let name = format!("refs/tags/{}", &r["/git/refs/tags/".len()..]);
            let tag = &name["refs/tags/".len()..];
            if st.immutable
                && st
                    .releases
                    .iter()
                    .any(|x| x["tag_name"] == tag && x["immutable"] == true)
            {
                return reply(
                    422,
                    json!({"message": "Cannot delete the tag of an immutable release."}),
                );
            }
            match st.refs.remove(&name) {
                Some(_) => reply(204, Value::Null),
                None => reply(422, json!({"message": "Reference does not exist"})),
            }
        }
        ("GET", r) if r.starts_with("/issues/") && r.ends_with("/comments") => {
            reply(200, Value::Array(st.comments.clone()))
        }
        ("POST", r) if r.starts_with("/issues/") && r.ends_with("/comments") => {
            let Some(text) = body["body"].as_str() else {
                return invalid("body is required");
            };
            st.next_id += 1;
            let c = json!({"id": st.next_id, "body": text,
                "html_url": format!("https://github.com/{REPO}/pull/7#issuecomment-{}", st.next_id)});
            st.comments.push(c.clone());
            reply(201, c)
        }
        ("PATCH", r) if r.starts_with("/issues/comments/") => {
            let id: u64 = r
                .rsplit('/')
                .next()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let Some(text) = body["body"].as_str() else {
                return invalid("body is required");
            };
            match st.comments.iter_mut().find(|c| c["id"] == id) {
                Some(c) => {
                    c["body"] = Value::from(text);
                    reply(200, c.clone())
                }
                None => reply(404, json!({"message": "Not Found"})),
            }
        }
        ("GET", "/deployments") => {
            let keep = |d: &&Value| {
                ["environment", "ref"]
                    .iter()
                    .all(|k| query_param(&req.query, k).is_none_or(|v| d[*k] == v.as_str()))
            };
            let list: Vec<Value> = st.deployments.iter().filter(keep).cloned().collect();
            reply(200, Value::Array(list))
        }
        ("POST", "/deployments") => {
            let Some(r) = body["ref"].as_str() else {
                return invalid("ref is required");
            };
            if !st.refs.contains_key(&format!("refs/tags/{r}")) {
                return reply(422, json!({"message": format!("No ref found for: {r}")}));
            }
            if body["auto_merge"] != false || !body["required_contexts"].is_array() {
                // GitHub would try to merge the default branch into a tag,
                // and wait for status checks: modelgate asks for neither.
                return invalid("modelgate sends auto_merge: false and required_contexts: []");
            }
            st.next_id += 1;
            let d = json!({
                "id": st.next_id, "ref": r, "environment": body["environment"],
                "payload": body["payload"], "description": body["description"],
                "statuses": [],
            });
            st.deployments.push(d.clone());
            reply(201, d)
        }
        ("POST", r) if r.starts_with("/deployments/") && r.ends_with("/statuses") => {
            let id: u64 = r
                .split('/')
                .nth(2)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let states = [
                "error",
                "failure",
                "inactive",
                "in_progress",
                "queued",
                "pending",
                "success",
            ];
            if !body["state"].as_str().is_some_and(|s| states.contains(&s)) {
                return invalid("state is required and one of the documented values");
            }
            match st.deployments.iter_mut().find(|d| d["id"] == id) {
                Some(d) => {
                    d["statuses"].as_array_mut().unwrap().push(body.clone());
                    reply(201, body.clone())
                }
                None => reply(404, json!({"message": "Not Found"})),
            }
        }
        ("POST", "/dispatches") => {
            let Some(event) = body["event_type"].as_str() else {
                return invalid("event_type is required");
            };
            if event.is_empty() || event.chars().count() > 100 {
                return invalid("event_type is 1 to 100 characters");
            }
            let payload = &body["client_payload"];
            if payload.as_object().is_some_and(|o| o.len() > 10) {
                return invalid("client_payload has at most 10 top-level keys");
            }
            st.dispatches.push(body.clone());
            reply(204, Value::Null)
        }
        _ => reply(
            404,
            json!({"message": format!("fake GitHub has no route {} {rest}", req.method)}),
        ),
    }
}

/// A release as the API shows it (assets inline, like GitHub).
fn public(rel: &Value) -> Value {
    rel.clone()
}

fn query_param(query: &str, key: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| decode(v))
}
