//! Trace: what the `minimal` variant keeps is measured, not guessed. A tracing run starts the
//! full image (the minimal Dockerfile without a trace: whole stdlib and venv) under its own
//! entrypoint with an audit hook (`assets/helpers/pyslim_helpers/trace_hook.py`, uploaded into the container
//! and put first on `PYTHONPATH`), requests `/` and the configured `trace_paths`, stops the
//! service and reads what it imported, opened and mapped. [`trace_text`] turns that into the
//! project's `.pyslim/trace.txt`, which the minimal Dockerfile assembles the image from.
//!
//! The same runner requests the paths on the finished minimal image, so a request that worked
//! while tracing and fails on minimal is a verify failure. Requests go to a port published on
//! 127.0.0.1: tracing needs a daemon on this machine. Every container is removed on every path.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, DownloadFromContainerOptionsBuilder, StopContainerOptionsBuilder,
    UploadToContainerOptionsBuilder,
};
use futures_util::StreamExt;

use super::events::BuildEvent;
use super::verify::{ProbeFrom, free_port, http_status};
use super::{CancellationToken, Engine, EngineError, EventSender};
use crate::plan::Variant;
use crate::render::minimal::{TRACE_HOOK, knowledge};

/// Where the hook lives in the tracing container.
const HOOK_DIR: &str = "/pyslim-trace";
/// Where the hook writes (the image's /tmp is world-writable).
const RAW_TRACE: &str = "/tmp/pyslim-trace.txt";

/// One run of an image that requests paths.
#[derive(Clone, Debug)]
pub struct PathRun {
    pub image: String,
    /// Port the service listens on in the container.
    pub port: u16,
    /// `/` first, then the `trace_paths`.
    pub paths: Vec<String>,
    /// Time the service gets to answer its first request.
    pub timeout: Duration,
    /// Extra container labels (tests add `org.pyslim.test=...`).
    pub labels: HashMap<String, String>,
    /// `KEY=VALUE` settings the service needs at start (the plan's verify env).
    pub env: Vec<String>,
    /// The Docker network of the service's container (the plan's verify network).
    pub network: Option<String>,
}

/// What one run saw.
#[derive(Clone, Debug, Default)]
pub struct PathRunOutcome {
    /// The service answered its first path below 500 in time.
    pub started: bool,
    /// The status of each path (`None`: no answer).
    pub answers: Vec<(String, Option<u16>)>,
    /// The hook's raw lines (tracing runs only).
    pub raw: String,
    /// The service's last log lines when it did not start.
    pub log_tail: Vec<String>,
}

impl Engine {
    /// Runs `run.image` with the audit hook and returns what the service loaded.
    pub async fn trace(
        &self,
        run: &PathRun,
        events: &EventSender,
        cancel: &CancellationToken,
    ) -> Result<PathRunOutcome, EngineError> {
        self.serve_and_request(run, true, events, cancel).await
    }

    /// Runs `run.image` and requests each path once it answers.
    pub async fn request_paths(
        &self,
        run: &PathRun,
        events: &EventSender,
        cancel: &CancellationToken,
    ) -> Result<PathRunOutcome, EngineError> {
        self.serve_and_request(run, false, events, cancel).await
    }

    async fn serve_and_request(
        &self,
        run: &PathRun,
        hook: bool,
        events: &EventSender,
        cancel: &CancellationToken,
    ) -> Result<PathRunOutcome, EngineError> {
        if self.probe_from_daemon() == ProbeFrom::Daemon {
            return Err(EngineError::Trace(format!(
                "the daemon at {} is not on this machine; tracing requests a port published on 127.0.0.1",
                self.endpoint.host
            )));
        }
        let io = |e: std::io::Error| EngineError::Trace(format!("cannot find a free port: {e}"));
        let host_port = free_port().map_err(io)?;
        let mut env = run.env.clone();
        if hook {
            let image = self
                .docker
                .inspect_image(&run.image)
                .await
                .map_err(EngineError::api(format!("inspecting {}", run.image)))?;
            let old = image
                .config
                .and_then(|c| c.env)
                .unwrap_or_default()
                .into_iter()
                .find_map(|e| e.strip_prefix("PYTHONPATH=").map(str::to_string))
                .filter(|p| !p.is_empty());
            env.push(match old {
                Some(p) => format!("PYTHONPATH={HOOK_DIR}:{p}"),
                None => format!("PYTHONPATH={HOOK_DIR}"),
            });
            env.push(format!("PYSLIM_TRACE_FILE={RAW_TRACE}"));
        }
        let container_port = format!("{}/tcp", run.port);
        let labels = super::own_labels(&run.labels);
        let (host_config, probe_port) =
            super::verify::service_wiring(run.network.as_deref(), run.port, host_port, true);
        let body = ContainerCreateBody {
            image: Some(run.image.clone()),
            env: Some(env),
            exposed_ports: Some(vec![container_port]),
            labels: Some(labels),
            host_config: Some(host_config),
            ..Default::default()
        };
        let what = if hook { "trace" } else { "paths" };
        let name = format!("pyslim-{what}-{host_port}");
        let opts = CreateContainerOptionsBuilder::default().name(&name).build();
        let id = self
            .docker
            .create_container(Some(opts), body)
            .await
            .map_err(EngineError::api(format!("creating a container from {}", run.image)))?
            .id;
        let result = self.drive(&id, run, hook, probe_port, events, cancel).await;
        self.remove_container(&id).await;
        result
    }

    async fn drive(
        &self,
        id: &str,
        run: &PathRun,
        hook: bool,
        host_port: u16,
        events: &EventSender,
        cancel: &CancellationToken,
    ) -> Result<PathRunOutcome, EngineError> {
        let log = |line: String| {
            let _ = events.send(BuildEvent::Log { variant: Variant::Minimal, line });
        };
        if hook {
            let tar = hook_tar().map_err(|e| EngineError::Trace(format!("cannot pack the trace hook: {e}")))?;
            let opts = UploadToContainerOptionsBuilder::default().path("/").build();
            self.docker
                .upload_to_container(id, Some(opts), bollard::body_full(tar.into()))
                .await
                .map_err(EngineError::api("adding the trace hook to the tracing container"))?;
        }
        self.docker.start_container(id, None).await.map_err(EngineError::api(format!("starting {}", run.image)))?;
        let mut out = PathRunOutcome::default();
        let first = run.paths.first().cloned().unwrap_or_else(|| "/".into());
        let started = Instant::now();
        loop {
            if cancel.is_cancelled() {
                return Err(EngineError::Cancelled);
            }
            if let Ok(Ok(Some(code))) =
                tokio::time::timeout(Duration::from_secs(3), http_status(host_port, &first)).await
                && code < 500
            {
                out.started = true;
                break;
            }
            if started.elapsed() > run.timeout || self.stopped(id).await {
                out.log_tail = self.tail(id).await;
                return Ok(out);
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        for path in &run.paths {
            let code = match tokio::time::timeout(Duration::from_secs(10), http_status(host_port, path)).await {
                Ok(Ok(c)) => c,
                _ => None,
            };
            log(format!(
                "{what} GET {path}: {}",
                code.map(|c| format!("HTTP {c}")).unwrap_or_else(|| "no answer".into()),
                what = if hook { "tracing" } else { "checking" }
            ));
            out.answers.push((path.clone(), code));
        }
        if hook {
            // The hook reads /proc/self/maps every 0.5 s and at exit.
            tokio::time::sleep(Duration::from_millis(1200)).await;
            let opts = StopContainerOptionsBuilder::default().t(2).build();
            let _ = self.docker.stop_container(id, Some(opts)).await;
            out.raw = self.read_file(id, RAW_TRACE).await?.ok_or_else(|| {
                EngineError::Trace(format!(
                    "the service wrote no trace ({RAW_TRACE}): does its entrypoint run Python with site enabled (no -S or -I)?"
                ))
            })?;
        }
        Ok(out)
    }

    async fn stopped(&self, id: &str) -> bool {
        let state = self.docker.inspect_container(id, None).await.ok().and_then(|c| c.state);
        state.is_some_and(|s| s.running == Some(false))
    }

    async fn tail(&self, id: &str) -> Vec<String> {
        let opts =
            bollard::query_parameters::LogsOptionsBuilder::default().stdout(true).stderr(true).tail("20").build();
        let mut logs = self.docker.logs(id, Some(opts));
        let mut text = String::new();
        while let Some(Ok(chunk)) = logs.next().await {
            text.push_str(&chunk.to_string());
        }
        text.lines().filter(|l| !l.trim().is_empty()).map(str::to_string).collect()
    }

    /// One file of a container (running or not), as text; `None` when it does not exist.
    async fn read_file(&self, id: &str, path: &str) -> Result<Option<String>, EngineError> {
        let opts = DownloadFromContainerOptionsBuilder::default().path(path).build();
        let mut stream = self.docker.download_from_container(id, Some(opts));
        let mut tar_bytes = Vec::new();
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(b) => tar_bytes.extend_from_slice(&b),
                Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => return Ok(None),
                Err(e) => {
                    return Err(EngineError::Api { action: format!("reading {path} from a container"), source: e });
                }
            }
        }
        let mut archive = tar::Archive::new(tar_bytes.as_slice());
        let entries = archive.entries().map_err(|e| EngineError::Trace(format!("reading {path}: {e}")))?;
        let Some(entry) = entries.into_iter().next() else { return Ok(None) };
        let mut entry = entry.map_err(|e| EngineError::Trace(format!("reading {path}: {e}")))?;
        let mut text = String::new();
        std::io::Read::read_to_string(&mut entry, &mut text)
            .map_err(|e| EngineError::Trace(format!("reading {path}: {e}")))?;
        Ok(Some(text))
    }

    /// A file of an image (the minimal manifest), read from a container that is never started.
    pub async fn read_image_file(&self, image: &str, path: &str) -> Result<Option<String>, EngineError> {
        let body = ContainerCreateBody {
            image: Some(image.to_string()),
            labels: Some(super::own_labels(&HashMap::new())),
            ..Default::default()
        };
        let id = self
            .docker
            .create_container(None::<bollard::query_parameters::CreateContainerOptions>, body)
            .await
            .map_err(EngineError::api(format!("creating a container from {image}")))?
            .id;
        let result = self.read_file(&id, path).await;
        self.remove_container(&id).await;
        result
    }
}

/// `pyslim-trace/sitecustomize.py` as a tar to extract at `/`.
fn hook_tar() -> std::io::Result<Vec<u8>> {
    let mut b = tar::Builder::new(Vec::new());
    let mut dir = tar::Header::new_gnu();
    dir.set_entry_type(tar::EntryType::Directory);
    dir.set_mode(0o755);
    dir.set_size(0);
    b.append_data(&mut dir, HOOK_DIR.trim_start_matches('/'), std::io::empty())?;
    let mut file = tar::Header::new_gnu();
    file.set_mode(0o644);
    file.set_size(TRACE_HOOK.len() as u64);
    b.append_data(&mut file, format!("{}/sitecustomize.py", HOOK_DIR.trim_start_matches('/')), TRACE_HOOK.as_bytes())?;
    b.into_inner()
}

/// The project's trace file from the hook's raw lines: top-level modules, then files outside
/// the Python search path (and data files inside it), then shared libraries outside it, each
/// sorted, with a header that says what was run and requested. Stable for a given run, so the
/// file diffs well in version control.
pub fn trace_text(raw: &str, entrypoint: &[String], paths: &[String]) -> String {
    let ignore = &knowledge().ignore;
    let mut sys_path: Vec<&str> = Vec::new();
    let (mut modules, mut files, mut libs) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for line in raw.lines() {
        if let Some(p) = line.strip_prefix("path ") {
            sys_path.push(p.trim_end_matches('/'));
        }
    }
    let in_sys_path = |p: &str| sys_path.iter().any(|d| d.starts_with('/') && p.starts_with(&format!("{d}/")));
    let code = |p: &str| [".py", ".pyc", ".so"].iter().any(|x| p.ends_with(x)) || p.contains(".so.");
    let ignored = |p: &str| ignore.iter().any(|i| p == i || (i.ends_with('/') && p.starts_with(i.as_str())));
    // Module sources are kept through their `module` lines; data files and the rest as files.
    // The app folder ships whole.
    let app = format!("{}/", crate::layout::APP_DIR);
    let wanted = |p: &str| !(ignored(p) || p.ends_with('/') || p.starts_with(&app) || (in_sys_path(p) && code(p)));
    for line in raw.lines() {
        let Some((kind, value)) = line.split_once(' ') else { continue };
        match kind {
            "module" => {
                let name = knowledge().kept_name(value);
                if !name.is_empty() && name != "sitecustomize" && name != "__main__" {
                    modules.insert(name.to_string());
                }
            }
            "file" if wanted(value) => {
                files.insert(value.to_string());
            }
            "lib" | "dlopen" if value.starts_with('/') && !in_sys_path(value) => {
                libs.insert(value.to_string());
            }
            _ => {}
        }
    }
    let mut out = String::new();
    out.push_str("# pyslim trace for the minimal variant: what the service imported, opened and mapped while it\n");
    out.push_str(&format!(
        "# ran `{}` and answered GET {}.\n",
        crate::scan::command_line(entrypoint),
        paths.join(", ")
    ));
    out.push_str("# The minimal Dockerfile keeps each listed module's whole package (a venv distribution whole;\n");
    out.push_str("# a package named with its submodule, such as encodings, module by module: assets/minimal.toml),\n");
    out.push_str("# these files and libraries, and their shared-library closure. Commit this file; written by\n");
    out.push_str(
        "# `pyslim build --variant minimal --trace` (add modules a route imports lazily to [minimal] keep).\n",
    );
    for m in &modules {
        out.push_str(&format!("module {m}\n"));
    }
    for f in &files {
        out.push_str(&format!("file {f}\n"));
    }
    for l in &libs {
        out.push_str(&format!("lib {l}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_text_keeps_top_levels_and_drops_code_files_and_mounts() {
        let raw = "path /usr/lib/python3.13\npath /opt/venv/lib/python3.13/site-packages\npath /app/src\n\
                   module encodings.utf_8\nmodule fastapi.routing\nmodule fastapi\nmodule sitecustomize\n\
                   file /usr/lib/python3.13/json/__init__.py\nfile /opt/venv/lib/python3.13/site-packages/certifi/cacert.pem\n\
                   file /etc/resolv.conf\nfile /etc/ssl/certs/ca-certificates.crt\nfile /tmp/x\nfile /app/app.py\n\
                   lib /usr/lib/x86_64-linux-gnu/libssl.so.3\nlib /usr/lib/python3.13/lib-dynload/_ssl.cpython-313-x86_64-linux-gnu.so\n\
                   dlopen /usr/lib/x86_64-linux-gnu/libgcc_s.so.1\nmodule fastapi\n";
        let argv: Vec<String> = ["uvicorn", "app:app"].map(String::from).to_vec();
        let t = trace_text(raw, &argv, &["/".into(), "/health".into()]);
        let body: Vec<&str> = t.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            body,
            [
                "module encodings.utf_8",
                "module fastapi",
                "file /etc/ssl/certs/ca-certificates.crt",
                "file /opt/venv/lib/python3.13/site-packages/certifi/cacert.pem",
                "lib /usr/lib/x86_64-linux-gnu/libgcc_s.so.1",
                "lib /usr/lib/x86_64-linux-gnu/libssl.so.3",
            ]
        );
        assert!(t.contains("ran `uvicorn app:app` and answered GET /, /health."), "{t}");
        assert_eq!(trace_text(raw, &argv, &["/".into()]), trace_text(raw, &argv, &["/".into()]));
    }

    #[test]
    fn the_hook_packs_into_its_folder() {
        let tar = hook_tar().unwrap();
        let mut a = tar::Archive::new(tar.as_slice());
        let names: Vec<String> =
            a.entries().unwrap().map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned()).collect();
        assert_eq!(names, ["pyslim-trace", "pyslim-trace/sitecustomize.py"]);
    }
}
