//! The package index, asked for the files of pins that no lock lists (requirements `==` pins,
//! Pipfile.lock, locks written without file hashes). Owns: which index the project or user
//! configures (`--index-url` lines, Pipfile `[[source]]`, Poetry/uv/PDM sources, `PIP_INDEX_URL`,
//! pip.conf, else PyPI), the PEP 691 request (`GET {index}/NAME/` with
//! `Accept: application/vnd.pypi.simple.v1+json`, PEP 503 HTML understood too), the on-disk cache
//! (`$XDG_CACHE_HOME/pyslim/index`), the short timeouts and the offline fallback
//! (`PYSLIM_OFFLINE=1`: cache only). It does not decide what the files mean (`lock`) or which
//! Python to choose (`python_version`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pep440_rs::Version;
use serde::{Deserialize, Serialize};

use super::ScanReport;
use super::deps::Project;
use super::files::Ctx;
use super::lock::{self, LockInfo, LockedPackage};

/// The index pyslim asks when nothing is configured.
pub const PYPI: &str = "https://pypi.org/simple/";
/// Variable that keeps the scan off the network (the cache still answers).
pub const OFFLINE_ENV: &str = "PYSLIM_OFFLINE";
/// How long a cached answer is trusted while online (an old release rarely gains wheels).
const CACHE_DAYS: u64 = 7;
/// Per-request limit, connection included, and the limit for one scan's lookups.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(8);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const TOTAL_TIMEOUT: Duration = Duration::from_secs(25);
/// Concurrent requests to the index.
const PARALLEL: usize = 8;
/// Largest answer read (numpy's page is a few MB).
const MAX_BODY: usize = 32 * 1024 * 1024;

/// The configured index and where that was configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Index {
    /// Base URL ending in `/`, credentials included (never shown).
    pub url: String,
    /// Where it was configured (`requirements.txt:1 (--index-url)`, `PIP_INDEX_URL`, `default`).
    pub source: String,
}

impl Index {
    /// The URL without credentials, for messages and the cache key.
    pub fn shown(&self) -> String {
        redact(&self.url)
    }
}

/// `https://user:token@host/simple/` -> `https://host/simple/`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let (authority, path) = rest.split_once('/').map(|(a, p)| (a, format!("/{p}"))).unwrap_or((rest, String::new()));
    let host = authority.rsplit_once('@').map(|(_, h)| h).unwrap_or(authority);
    format!("{scheme}://{host}{path}")
}

/// Old names of PyPI's index, which redirect (or no longer resolve everywhere).
fn alias(url: &str) -> String {
    let plain = redact(url);
    if ["https://pypi.python.org/simple/", "http://pypi.python.org/simple/", "https://pypi.org/simple/"]
        .contains(&plain.as_str())
    {
        return PYPI.to_string();
    }
    url.to_string()
}

fn with_slash(url: &str) -> String {
    let u = url.trim();
    if u.ends_with('/') { u.to_string() } else { format!("{u}/") }
}

/// `${VAR}` from the environment (Pipfile and pip allow it in index URLs); unset stays as is.
fn expand_env(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        match after.find('}') {
            Some(j) => {
                let name = &after[..j];
                match std::env::var(name) {
                    Ok(v) => out.push_str(&v),
                    Err(_) => out.push_str(&rest[i..i + 3 + j]),
                }
                rest = &after[j + 1..];
            }
            None => {
                out.push_str(&rest[i..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The index the install step will use: the project's own configuration first (requirement
/// files, Pipfile, pyproject sources), then the user's (`PIP_INDEX_URL`, `UV_DEFAULT_INDEX`,
/// pip.conf), else PyPI.
pub fn configured(
    ctx: &mut Ctx,
    requirement_files: &[String],
    pyproject: Option<&toml::Table>,
    pipfile: Option<&toml::Table>,
) -> Index {
    let found = |url: &str, source: String| Index { url: alias(&with_slash(&expand_env(url))), source };
    for rel in requirement_files.iter().filter(|f| f.ends_with(".txt") || f.ends_with(".in")) {
        let Some(text) = ctx.read(rel) else { continue };
        for (i, line) in text.lines().enumerate() {
            let t = line.trim();
            let value = t
                .strip_prefix("--index-url")
                .map(|v| v.trim_start_matches(['=', ' ', '\t']))
                .or_else(|| t.strip_prefix("-i ").or_else(|| t.strip_prefix("-i\t")));
            if let Some(v) = value.map(str::trim).and_then(|v| v.split_whitespace().next()) {
                return found(v, format!("{rel}:{} (--index-url)", i + 1));
            }
        }
    }
    if let Some(pf) = pipfile
        && let Some(url) =
            pf.get("source").and_then(|s| s.as_array()).and_then(|s| s.first()).and_then(|s| s.get("url")?.as_str())
    {
        return found(url, "Pipfile [[source]]".to_string());
    }
    if let Some(py) = pyproject {
        let list = |path: &[&str]| -> Vec<toml::Value> {
            let mut v: Option<&toml::Value> = None;
            for (i, k) in path.iter().enumerate() {
                v = if i == 0 { py.get(*k) } else { v.and_then(|x| x.get(*k)) };
            }
            v.and_then(|x| x.as_array()).cloned().unwrap_or_default()
        };
        for s in list(&["tool", "poetry", "source"]) {
            let primary = s.get("priority").and_then(|p| p.as_str()).is_some_and(|p| p == "primary" || p == "default")
                || s.get("default").and_then(|d| d.as_bool()) == Some(true);
            if primary && let Some(url) = s.get("url").and_then(|u| u.as_str()) {
                return found(url, "pyproject.toml [[tool.poetry.source]]".to_string());
            }
        }
        for s in list(&["tool", "uv", "index"]) {
            if s.get("default").and_then(|d| d.as_bool()) == Some(true)
                && let Some(url) = s.get("url").and_then(|u| u.as_str())
            {
                return found(url, "pyproject.toml [[tool.uv.index]] default = true".to_string());
            }
        }
        if let Some(url) =
            py.get("tool").and_then(|t| t.get("uv")).and_then(|u| u.get("index-url")).and_then(|u| u.as_str())
        {
            return found(url, "pyproject.toml [tool.uv] index-url".to_string());
        }
        for s in list(&["tool", "pdm", "source"]) {
            if s.get("name").and_then(|n| n.as_str()) == Some("pypi")
                && let Some(url) = s.get("url").and_then(|u| u.as_str())
            {
                return found(url, "pyproject.toml [[tool.pdm.source]] name = \"pypi\"".to_string());
            }
        }
    }
    for var in ["PIP_INDEX_URL", "UV_DEFAULT_INDEX", "UV_INDEX_URL"] {
        if let Ok(v) = std::env::var(var)
            && !v.trim().is_empty()
        {
            return found(&v, var.to_string());
        }
    }
    for path in pip_conf_files() {
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        if let Some(url) = pip_conf_index(&text) {
            return found(&url, path.display().to_string());
        }
    }
    Index { url: PYPI.to_string(), source: "default".to_string() }
}

/// pip's configuration files, most specific first.
fn pip_conf_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(p) = std::env::var("PIP_CONFIG_FILE") {
        out.push(PathBuf::from(p));
    }
    if let Ok(x) = std::env::var("XDG_CONFIG_HOME") {
        out.push(PathBuf::from(x).join("pip/pip.conf"));
    }
    if let Ok(h) = std::env::var("HOME") {
        out.push(PathBuf::from(&h).join(".config/pip/pip.conf"));
        out.push(PathBuf::from(&h).join(".pip/pip.conf"));
    }
    out.push(PathBuf::from("/etc/xdg/pip/pip.conf"));
    out.push(PathBuf::from("/etc/pip.conf"));
    out
}

/// `index-url` under `[global]` or `[install]` of an ini-style pip.conf.
fn pip_conf_index(text: &str) -> Option<String> {
    let mut section = String::new();
    for line in text.lines() {
        let t = line.trim();
        if let Some(s) = t.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            section = s.trim().to_string();
            continue;
        }
        if section != "global" && section != "install" {
            continue;
        }
        if let Some((k, v)) = t.split_once(['=', ':'])
            && matches!(k.trim(), "index-url" | "index_url")
            && !v.trim().is_empty()
        {
            return Some(v.trim().to_string());
        }
    }
    None
}

/// What one lookup round learned, and how (for fact sources and warnings).
#[derive(Debug, Default)]
pub struct Lookup {
    /// File names per normalized project name (all versions).
    pub files: BTreeMap<String, Vec<String>>,
    /// Upload times (PEP 700 `upload-time`, RFC 3339) per normalized project name and file name,
    /// where the index gives them (PEP 691 JSON answers; HTML pages have none).
    pub uploaded: BTreeMap<String, BTreeMap<String, String>>,
    /// How the files were obtained: `https://pypi.org/simple/`, `... (cached)`, `... (offline, cached)`.
    pub how: String,
    /// Names the index could not answer for, with the reason.
    pub failed: Vec<(String, String)>,
    /// Whether the network was skipped (`PYSLIM_OFFLINE`).
    pub offline: bool,
}

static STAY_OFFLINE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Keeps every later scan of this process off the network, like `PYSLIM_OFFLINE=1` (for callers
/// that scan untrusted or generated projects, such as the fuzzers).
pub fn stay_offline() {
    STAY_OFFLINE.store(true, std::sync::atomic::Ordering::Relaxed);
}

static CACHE_DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Keeps the index cache of every later scan of this process in `dir` instead of
/// `$XDG_CACHE_HOME/pyslim/index` (for tests and tools that must neither read nor write the
/// user's cache). The first call wins.
pub fn use_cache_dir(dir: PathBuf) {
    let _ = CACHE_DIR.set(dir);
}

/// Whether `PYSLIM_OFFLINE` (or [`stay_offline`]) asks to stay off the network.
pub fn offline_requested() -> bool {
    STAY_OFFLINE.load(std::sync::atomic::Ordering::Relaxed)
        || std::env::var(OFFLINE_ENV).is_ok_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}

#[derive(Serialize, Deserialize)]
struct CacheEntry {
    index: String,
    name: String,
    fetched: u64,
    files: Vec<String>,
    /// Upload time per file name; `None` in entries written before pyslim kept them (refetched
    /// when online), empty when the index gives no times.
    #[serde(default)]
    uploaded: Option<BTreeMap<String, String>>,
}

/// The files of one project page: names, and upload times where the index gives them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Page {
    pub files: Vec<String>,
    pub uploaded: BTreeMap<String, String>,
}

fn cache_dir() -> Option<PathBuf> {
    if let Some(dir) = CACHE_DIR.get() {
        return Some(dir.clone());
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("pyslim").join("index"))
}

fn cache_path(index: &Index, name: &str) -> Option<PathBuf> {
    use sha2::Digest;
    let key = sha2::Sha256::digest(format!("{}\n{name}", index.shown()).as_bytes());
    let hex: String = key.iter().take(12).map(|b| format!("{b:02x}")).collect();
    Some(cache_dir()?.join(format!("{name}-{hex}.json")))
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn read_cache(index: &Index, name: &str) -> Option<CacheEntry> {
    let text = std::fs::read_to_string(cache_path(index, name)?).ok()?;
    serde_json::from_str(&text).ok()
}

fn write_cache(index: &Index, name: &str, page: &Page) {
    let (Some(path), Some(dir)) = (cache_path(index, name), cache_dir()) else { return };
    let entry = CacheEntry {
        index: index.shown(),
        name: name.to_string(),
        fetched: now(),
        files: page.files.clone(),
        uploaded: Some(page.uploaded.clone()),
    };
    let Ok(text) = serde_json::to_string(&entry) else { return };
    // A cache that cannot be written only costs a request next time.
    if std::fs::create_dir_all(&dir).is_ok()
        && let Ok(mut tmp) = tempfile::NamedTempFile::new_in(&dir)
        && std::io::Write::write_all(&mut tmp, text.as_bytes()).is_ok()
    {
        let _ = tmp.persist(path);
    }
}

/// Asks the index for the files of `wanted` (normalized name, pinned version): the cache when
/// it is fresh and knows the pinned version, else the network (unless offline).
pub fn lookup(index: &Index, wanted: &[(String, String)]) -> Lookup {
    let offline = offline_requested();
    let mut out = Lookup { offline, ..Default::default() };
    let mut to_fetch: Vec<String> = Vec::new();
    let mut cached = 0usize;
    for (name, version) in wanted {
        match read_cache(index, name) {
            Some(c)
                if offline
                    || (now().saturating_sub(c.fetched) < CACHE_DAYS * 86400
                        && c.uploaded.is_some()
                        && has_release(&c.files, version)) =>
            {
                out.files.insert(name.clone(), c.files);
                out.uploaded.insert(name.clone(), c.uploaded.unwrap_or_default());
                cached += 1;
            }
            _ if offline => out.failed.push((name.clone(), format!("not in the cache ({OFFLINE_ENV} is set)"))),
            _ => to_fetch.push(name.clone()),
        }
    }
    let mut fetched = 0usize;
    if !to_fetch.is_empty() {
        for (name, result) in fetch_all(index, &to_fetch) {
            match result {
                Ok(page) => {
                    write_cache(index, &name, &page);
                    out.files.insert(name.clone(), page.files);
                    out.uploaded.insert(name, page.uploaded);
                    fetched += 1;
                }
                Err(e) => out.failed.push((name, e)),
            }
        }
    }
    let shown = index.shown();
    out.how = match (offline, fetched, cached) {
        (true, _, _) => format!("{shown}, offline: cached answers ({OFFLINE_ENV})"),
        (false, 0, c) if c > 0 => format!("{shown}, cached"),
        _ => shown,
    };
    out
}

/// The file names of one version among all of a project's files.
pub fn for_version(files: &[String], version: &str) -> Vec<String> {
    let Ok(want) = Version::from_str(version.trim()) else { return Vec::new() };
    files
        .iter()
        .filter(|f| file_version(f).and_then(|v| Version::from_str(&v).ok()).is_some_and(|v| v == want))
        .cloned()
        .collect()
}

/// Whether `files` hold the release `want` names: a version (`1.5.3`), or for a
/// compatible-release range (`~=1.5.3`) any release inside it.
fn has_release(files: &[String], want: &str) -> bool {
    if want.starts_with("~=") {
        return newest_in(files, want).is_some();
    }
    !for_version(files, want).is_empty()
}

/// The newest final release among `files` inside `range` (`~=1.5.3`): the one pip installs.
/// Pre-releases are left out, as pip leaves them out of a range that names none.
pub fn newest_in(files: &[String], range: &str) -> Option<String> {
    let spec = pep440_rs::VersionSpecifiers::from_str(range).ok()?;
    files
        .iter()
        .filter_map(|f| file_version(f))
        .filter_map(|v| Version::from_str(&v).ok())
        .filter(|v| !v.any_prerelease() && spec.contains(v))
        .max()
        .map(|v| v.to_string())
}

/// The version in a wheel or sdist file name.
fn file_version(file: &str) -> Option<String> {
    if let Some(stem) = file.strip_suffix(".whl") {
        return stem.split('-').nth(1).map(String::from);
    }
    let stem = [".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar.xz"].iter().find_map(|e| file.strip_suffix(e))?;
    stem.rsplit_once('-').map(|(_, v)| v.to_string())
}

/// File names (and PEP 700 upload times) from a PEP 691 JSON page, or a PEP 503 HTML page.
pub fn parse_page(body: &str, content_type: &str) -> Result<Page, String> {
    if content_type.contains("json") || body.trim_start().starts_with('{') {
        #[derive(Deserialize)]
        struct Json {
            files: Vec<File>,
        }
        #[derive(Deserialize)]
        struct File {
            filename: String,
            #[serde(rename = "upload-time")]
            upload_time: Option<String>,
        }
        let p: Json = serde_json::from_str(body).map_err(|e| format!("not a PEP 691 answer ({e})"))?;
        let mut page = Page::default();
        for f in p.files {
            if let Some(t) = f.upload_time {
                page.uploaded.insert(f.filename.clone(), t);
            }
            page.files.push(f.filename);
        }
        return Ok(page);
    }
    let re = regex::Regex::new(r"(?is)<a\s[^>]*>\s*([^<]+?)\s*</a>").map_err(|e| e.to_string())?;
    let files =
        re.captures_iter(body).map(|c| c[1].to_string()).filter(|f| f.ends_with(".whl") || lock::is_sdist(f)).collect();
    Ok(Page { files, uploaded: BTreeMap::new() })
}

/// Fills the file lists of `pins` that have none, from `lookup`'s answers.
pub fn fill(pins: &mut [LockedPackage], lookup: &Lookup) {
    for p in pins.iter_mut().filter(|p| p.files_from.is_none()) {
        let Some(all) = lookup.files.get(&p.name) else { continue };
        // A compatible-release pin stands for the newest release inside it.
        if let (true, Some(range)) = (p.version.is_empty(), &p.range) {
            let Some(v) = newest_in(all, range) else { continue };
            p.version = v;
        }
        let files = for_version(all, &p.version);
        if files.is_empty() {
            continue;
        }
        p.wheels = files.iter().filter(|f| f.ends_with(".whl")).cloned().collect();
        p.sdist = files.iter().any(|f| lock::is_sdist(f));
        p.files_from = Some(lookup.how.clone());
        // The release's date: its first file's upload (wheels for a new Python may come later).
        p.released = lookup.uploaded.get(&p.name).and_then(|times| {
            files.iter().filter_map(|f| times.get(f)).min().map(|t| t[..t.len().min(10)].to_string())
        });
    }
}

/// Asks the index for what `info`'s runtime pins without file lists ship, and fills them in;
/// warnings say what could not be learned and why.
pub fn complete(ctx: &mut Ctx, index: &Index, info: &mut LockInfo) -> Option<Lookup> {
    let wanted: Vec<(String, String)> = info
        .without_files()
        .map(|p| {
            let want = if p.version.is_empty() { p.range.clone().unwrap_or_default() } else { p.version.clone() };
            (p.name.clone(), want)
        })
        .collect();
    if wanted.is_empty() {
        return None;
    }
    let found = lookup(index, &wanted);
    fill(&mut info.packages, &found);
    if !found.failed.is_empty() {
        let names: Vec<String> = found.failed.iter().take(6).map(|(n, _)| n.clone()).collect();
        let more = found.failed.len().saturating_sub(6);
        let why = &found.failed[0].1;
        ctx.warn(format!(
            "the package index {} gave no file list for {}{} ({why}): the Python choice does not know their wheels{}",
            index.shown(),
            names.join(", "),
            if more > 0 { format!(" and {more} more") } else { String::new() },
            if found.offline { String::new() } else { format!("; {OFFLINE_ENV}=1 skips the index") }
        ));
    }
    Some(found)
}

/// The exact pins of declared dependencies (`greenlet==3.0.1`), and the compatible-release
/// ones (`pandas~=1.5.3`, whose version the index's newest release inside it fills), as lock
/// entries without files.
fn exact_pins(report: &ScanReport) -> Vec<LockedPackage> {
    let mut out: Vec<LockedPackage> = Vec::new();
    for d in &report.dependencies {
        let compatible = lock::compatible_pin(&d.requirement);
        let Some(pin) = lock::exact_pin(&d.requirement).or(compatible.clone()) else { continue };
        // A pin only for Windows or macOS does not reach a Linux image.
        if pin.marker.contains("win32") || pin.marker.contains("darwin") || pin.marker.contains("Windows") {
            continue;
        }
        let name = lock::normalize(&d.name);
        if out.iter().any(|p| p.name == name) {
            continue;
        }
        out.push(match compatible {
            Some(c) => LockedPackage { name, range: Some(c.version), runtime: true, ..Default::default() },
            None => LockedPackage { name, version: pin.version, runtime: true, ..Default::default() },
        });
    }
    out
}

/// Completes the file lists the index can give: the lock's pins without files (Pipfile.lock,
/// old locks), else the `==` pins of requirement files and other declarations.
pub fn attach(ctx: &mut Ctx, report: &ScanReport, project: &mut Project) {
    let needs_index = match &project.lock {
        Some(l) => l.without_files().next().is_some(),
        None => {
            let pins = exact_pins(report);
            if !pins.is_empty() {
                let file = report.dependencies.first().map(|d| d.source.clone()).unwrap_or_default();
                project.pins = Some(LockInfo { file, packages: pins });
            }
            project.pins.is_some()
        }
    };
    if !needs_index {
        return;
    }
    let index = configured(ctx, &report.dependency_files, project.pyproject.as_ref(), project.pipfile.as_ref());
    if let Some(info) = project.lock.as_mut().or(project.pins.as_mut()) {
        complete(ctx, &index, info);
        // a compatible-release pin the index could not resolve says nothing
        info.packages.retain(|p| p.range.is_none() || !p.version.is_empty());
    }
}

fn basic_auth(url: &str) -> (String, Option<String>) {
    use base64::Engine;
    let Some((scheme, rest)) = url.split_once("://") else { return (url.to_string(), None) };
    let (authority, path) = rest.split_once('/').map(|(a, p)| (a, format!("/{p}"))).unwrap_or((rest, String::new()));
    match authority.rsplit_once('@') {
        Some((cred, host)) => {
            let token = base64::engine::general_purpose::STANDARD.encode(cred.as_bytes());
            (format!("{scheme}://{host}{path}"), Some(format!("Basic {token}")))
        }
        None => (url.to_string(), None),
    }
}

/// Fetches every name's page, `PARALLEL` at a time, on a runtime of its own (the scan may run
/// inside another runtime, whose thread must not block on this one).
fn fetch_all(index: &Index, names: &[String]) -> Vec<(String, Result<Page, String>)> {
    let index = index.clone();
    let names = names.to_vec();
    let job = std::thread::spawn(move || {
        let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(rt) => rt,
            Err(e) => return names.into_iter().map(|n| (n, Err(format!("no async runtime: {e}")))).collect(),
        };
        rt.block_on(fetch_async(index, names))
    });
    job.join().unwrap_or_default()
}

type HttpsClient = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    http_body_util::Empty<bytes::Bytes>,
>;

fn client() -> Result<HttpsClient, String> {
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(c);
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut http = hyper_util::client::legacy::connect::HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(CONNECT_TIMEOUT));
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Ok(hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build(https))
}

async fn fetch_async(index: Index, names: Vec<String>) -> Vec<(String, Result<Page, String>)> {
    use futures_util::StreamExt;
    let client = match client() {
        Ok(c) => c,
        Err(e) => return names.into_iter().map(|n| (n, Err(e.clone()))).collect(),
    };
    let jobs = futures_util::stream::iter(names.clone())
        .map(|name| {
            let client = client.clone();
            let url = format!("{}{name}/", index.url);
            async move {
                let r = match tokio::time::timeout(REQUEST_TIMEOUT, get_page(&client, &url)).await {
                    Ok(r) => r,
                    Err(_) => Err(format!("no answer within {}s", REQUEST_TIMEOUT.as_secs())),
                };
                (name, r)
            }
        })
        .buffer_unordered(PARALLEL)
        .collect::<Vec<_>>();
    match tokio::time::timeout(TOTAL_TIMEOUT, jobs).await {
        Ok(v) => v,
        Err(_) => {
            names.into_iter().map(|n| (n, Err(format!("no answer within {}s", TOTAL_TIMEOUT.as_secs())))).collect()
        }
    }
}

async fn get_page(client: &HttpsClient, url: &str) -> Result<Page, String> {
    use http_body_util::BodyExt;
    let mut url = url.to_string();
    for _ in 0..4 {
        let (plain, auth) = basic_auth(&url);
        let uri: hyper::Uri = plain.parse().map_err(|e| format!("bad index URL {}: {e}", redact(&url)))?;
        let mut req = hyper::Request::get(uri)
            .header(hyper::header::ACCEPT, "application/vnd.pypi.simple.v1+json, text/html;q=0.1")
            .header(hyper::header::USER_AGENT, concat!("pyslim/", env!("CARGO_PKG_VERSION")));
        if let Some(a) = auth {
            req = req.header(hyper::header::AUTHORIZATION, a);
        }
        let req = req.body(http_body_util::Empty::new()).map_err(|e| e.to_string())?;
        let resp = client.request(req).await.map_err(|e| connect_error(&e))?;
        let status = resp.status();
        if status.is_redirection() {
            let loc = resp.headers().get(hyper::header::LOCATION).and_then(|l| l.to_str().ok()).unwrap_or("");
            url = if loc.contains("://") {
                loc.to_string()
            } else {
                let (scheme, rest) = url.split_once("://").unwrap_or(("https", &url));
                let host = rest.split('/').next().unwrap_or(rest);
                format!("{scheme}://{host}{loc}")
            };
            continue;
        }
        if status == hyper::StatusCode::NOT_FOUND {
            return Err("not on the index (HTTP 404)".to_string());
        }
        if !status.is_success() {
            return Err(format!("HTTP {status}"));
        }
        let ctype =
            resp.headers().get(hyper::header::CONTENT_TYPE).and_then(|c| c.to_str().ok()).unwrap_or("").to_string();
        let body = http_body_util::Limited::new(resp.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|e| format!("reading the answer: {e}"))?
            .to_bytes();
        return parse_page(&String::from_utf8_lossy(&body), &ctype);
    }
    Err("too many redirects".to_string())
}

/// The root cause of a failed request (`dns error: ...`, `Connection refused`), not hyper's
/// generic "client error (Connect)".
fn connect_error(e: &hyper_util::client::legacy::Error) -> String {
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg = s.to_string();
        src = s.source();
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    const GREENLET: &str = include_str!("../../tests/index-recorded/greenlet.json");

    #[test]
    fn recorded_pep691_page() {
        let page = parse_page(GREENLET, "application/vnd.pypi.simple.v1+json").unwrap();
        assert!(page.uploaded.is_empty(), "this recording has no upload times");
        let files = page.files;
        let v301 = for_version(&files, "3.0.1");
        assert!(v301.iter().any(|f| f == "greenlet-3.0.1.tar.gz"), "{v301:?}");
        let mut pin =
            LockedPackage { name: "greenlet".into(), version: "3.0.1".into(), runtime: true, ..Default::default() };
        let found =
            Lookup { files: BTreeMap::from([("greenlet".to_string(), files)]), how: PYPI.into(), ..Default::default() };
        fill(std::slice::from_mut(&mut pin), &found);
        assert_eq!(pin.files_from.as_deref(), Some(PYPI));
        assert!(pin.sdist);
        let v = |s: &str| s.parse().unwrap();
        assert!(!pin.compiles_on(v("3.12")));
        assert!(pin.compiles_on(v("3.13")));
        assert!(pin.bounds_python());
        assert_eq!(pin.wheel_span(), "wheels up to cp312");
        assert_eq!(pin.released, None, "no upload times, no release date");
    }

    #[test]
    fn a_compatible_release_pin_stands_for_the_newest_release_inside_it() {
        let page =
            parse_page(include_str!("../../tests/index-recorded/pandas.json"), "application/vnd.pypi.simple.v1+json")
                .unwrap();
        assert_eq!(newest_in(&page.files, "~=1.5.0").as_deref(), Some("1.5.3"));
        assert_eq!(newest_in(&page.files, "~=1.5").as_deref(), Some("1.5.3"), "~=1.5 stops before 2.0");
        assert_eq!(newest_in(&page.files, "~=2.0").as_deref(), Some("2.0.0"));
        assert_eq!(newest_in(&page.files, "~=1.4.0"), None);
        assert!(has_release(&page.files, "~=1.5.3") && has_release(&page.files, "1.5.1"));
        let mut pin =
            LockedPackage { name: "pandas".into(), range: Some("~=1.5.3".into()), runtime: true, ..Default::default() };
        let found = Lookup {
            files: BTreeMap::from([("pandas".to_string(), page.files)]),
            how: PYPI.into(),
            ..Default::default()
        };
        fill(std::slice::from_mut(&mut pin), &found);
        assert_eq!(pin.version, "1.5.3");
        assert_eq!(pin.label(), "pandas 1.5.3 (~=1.5.3)");
        assert_eq!(pin.wheel_span(), "wheels up to cp311");
        let v = |s: &str| s.parse().unwrap();
        assert!(!pin.compiles_on(v("3.11")) && pin.compiles_on(v("3.12")));
        // the lock entry comes from the requirement
        let c = lock::compatible_pin("pandas~=1.5.3 ; python_version >= \"3.8\"").unwrap();
        assert_eq!((c.name.as_str(), c.version.as_str()), ("pandas", "~=1.5.3"));
        assert!(lock::compatible_pin("pandas>=1.5,<2").is_none() && lock::compatible_pin("pandas==1.5.3").is_none());
    }

    #[test]
    fn upload_times_give_the_release_date() {
        let page =
            parse_page(include_str!("../../tests/index-recorded/uvicorn.json"), "application/vnd.pypi.simple.v1+json")
                .unwrap();
        assert!(page.uploaded.len() >= 4, "{:?}", page.uploaded);
        let mut pin =
            LockedPackage { name: "uvicorn".into(), version: "0.26.0".into(), runtime: true, ..Default::default() };
        let found = Lookup {
            files: BTreeMap::from([("uvicorn".to_string(), page.files)]),
            uploaded: BTreeMap::from([("uvicorn".to_string(), page.uploaded)]),
            how: PYPI.into(),
            ..Default::default()
        };
        fill(std::slice::from_mut(&mut pin), &found);
        assert_eq!(pin.released.as_deref(), Some("2024-01-16"));
    }

    #[test]
    fn html_page_and_versions() {
        let html = r#"<html><body><a href="../../p/x-1.0-py3-none-any.whl#sha256=1">x-1.0-py3-none-any.whl</a>
            <a href="x-1.0.tar.gz">x-1.0.tar.gz</a><a href="x-1.1.tar.gz" data-yanked="">x-1.1.tar.gz</a></body></html>"#;
        let page = parse_page(html, "text/html").unwrap();
        assert!(page.uploaded.is_empty());
        let files = page.files;
        assert_eq!(files.len(), 3);
        assert_eq!(for_version(&files, "1.0"), vec!["x-1.0-py3-none-any.whl", "x-1.0.tar.gz"]);
        assert_eq!(for_version(&files, "1.0.0").len(), 2, "PEP 440: 1.0 == 1.0.0");
        assert_eq!(
            file_version("psycopg2_binary-2.9.3-cp310-cp310-manylinux_2_17_x86_64.whl").as_deref(),
            Some("2.9.3")
        );
        assert_eq!(file_version("psycopg2-binary-2.9.3.tar.gz").as_deref(), Some("2.9.3"));
        assert!(parse_page("{not json", "application/vnd.pypi.simple.v1+json").is_err());
    }

    #[test]
    fn index_configuration() {
        assert_eq!(redact("https://user:tok@host.example/simple/"), "https://host.example/simple/");
        assert_eq!(redact("https://pypi.org/simple/"), "https://pypi.org/simple/");
        assert_eq!(alias("https://pypi.python.org/simple/"), PYPI);
        let (plain, auth) = basic_auth("https://u:p@h/simple/x/");
        assert_eq!(plain, "https://h/simple/x/");
        assert_eq!(auth.as_deref(), Some("Basic dTpw"));
        assert_eq!(
            pip_conf_index("[global]\ncert = /x\nindex-url = https://m/simple\n").as_deref(),
            Some("https://m/simple")
        );
        assert_eq!(pip_conf_index("[freeze]\nindex-url = https://m/simple\n"), None);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("requirements.txt"),
            "--index-url=https://mirror.example/simple\nflask==3.0.0\n",
        )
        .unwrap();
        let mut ctx = Ctx::new(dir.path().to_path_buf());
        let i = configured(&mut ctx, &["requirements.txt".into()], None, None);
        assert_eq!(i.url, "https://mirror.example/simple/");
        assert_eq!(i.source, "requirements.txt:1 (--index-url)");
        let py: toml::Table = toml::from_str(
            "[[tool.poetry.source]]\nname = \"corp\"\nurl = \"https://corp/simple\"\npriority = \"primary\"\n",
        )
        .unwrap();
        let i = configured(&mut ctx, &[], Some(&py), None);
        assert_eq!(
            (i.url.as_str(), i.source.as_str()),
            ("https://corp/simple/", "pyproject.toml [[tool.poetry.source]]")
        );
        let pf: toml::Table = toml::from_str("[[source]]\nurl = \"https://pf/simple\"\nname = \"x\"\n").unwrap();
        assert_eq!(configured(&mut ctx, &[], None, Some(&pf)).url, "https://pf/simple/");
    }
}
