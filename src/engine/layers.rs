//! Where the bytes are: a built image's history split into base, dependency, app and other
//! layers. The base layers are the oldest entries, as many as the base image's own history has.

use super::{Engine, EngineError};
use crate::plan::{APP_DIR, VENV};
use crate::report::{Layer, LayerRole};

/// Files that only feed the dependency install step.
const MANIFESTS: [&str; 8] =
    ["requirements", "pyproject.toml", "poetry.lock", "uv.lock", "pipfile", "pdm.lock", "setup.py", "setup.cfg"];
const INSTALLERS: [&str; 7] =
    ["pip install", "poetry install", "uv sync", "uv pip install", "pipenv install", "pdm install", "pdm sync"];

/// The role of a non-base layer, from the instruction that created it (BuildKit writes
/// `COPY /opt/venv /opt/venv # buildkit`, the classic builder `#(nop) COPY dir:3f.. in /opt/venv`).
pub fn role_of(created_by: &str) -> LayerRole {
    let text = created_by.trim();
    let text = text.strip_suffix("# buildkit").unwrap_or(text).trim_end();
    let lower = text.to_lowercase();
    let body = lower.trim_start_matches("/bin/sh -c ").trim_start_matches("#(nop) ").trim();
    let is_copy = body.starts_with("copy ") || body.starts_with("add ");
    if is_copy {
        if lower.contains(VENV) || lower.contains(".venv") || lower.contains("site-packages") {
            return LayerRole::Dependencies;
        }
        let sources: Vec<&str> = body.split_whitespace().skip(1).filter(|w| !w.starts_with("--")).collect();
        let srcs = &sources[..sources.len().saturating_sub(1)];
        if !srcs.is_empty() && srcs.iter().all(|s| MANIFESTS.iter().any(|m| s.contains(m))) {
            return LayerRole::Dependencies;
        }
        let app = APP_DIR.to_lowercase();
        if lower.contains(&app) || body.contains(" in ") || body.ends_with(" .") || body.ends_with("./") {
            return LayerRole::App;
        }
        return LayerRole::Other;
    }
    if INSTALLERS.iter().any(|i| lower.contains(i)) || lower.contains(VENV) {
        return LayerRole::Dependencies;
    }
    LayerRole::Other
}

/// Turns a history (newest first, as the API returns it) into layers, oldest first. The oldest
/// `base_entries` entries belong to the base image. Empty (metadata-only) entries are dropped.
pub fn classify(history: &[(String, u64)], base_entries: usize) -> Vec<Layer> {
    let n = history.len();
    let mut out = Vec::new();
    for (i, (created_by, size)) in history.iter().enumerate().rev() {
        let from_oldest = n - 1 - i;
        if *size == 0 {
            continue;
        }
        let role = if from_oldest < base_entries { LayerRole::Base } else { role_of(created_by) };
        let created_by = match tidy(created_by) {
            t if t.is_empty() => "(imported base layer)".to_string(),
            t => t,
        };
        out.push(Layer { size_bytes: *size, role, created_by });
    }
    out
}

/// Shortens `/bin/sh -c #(nop) ` and ` # buildkit` noise.
fn tidy(created_by: &str) -> String {
    let t = created_by.trim();
    let t = t.strip_suffix("# buildkit").unwrap_or(t).trim_end();
    let t = t.strip_prefix("/bin/sh -c #(nop) ").unwrap_or(t);
    let t = t.strip_prefix("|").map(|r| r.split_once(' ').map(|(_, b)| b).unwrap_or(r)).unwrap_or(t);
    let t = t.strip_prefix("/bin/sh -c ").map(|r| format!("RUN {r}")).unwrap_or_else(|| t.to_string());
    t.trim().to_string()
}

impl Engine {
    /// The layers of `image`; `base` is the image its final stage starts from.
    pub async fn layers(&self, image: &str, base: Option<&str>) -> Result<Vec<Layer>, EngineError> {
        let history = self
            .docker
            .image_history(image)
            .await
            .map_err(EngineError::api(format!("reading the history of {image}")))?;
        let base_entries = match base {
            Some(b) => match self.docker.image_history(b).await {
                Ok(h) => h.len(),
                Err(_) => 0,
            },
            None => 0,
        };
        let pairs: Vec<(String, u64)> = history.iter().map(|h| (h.created_by.clone(), h.size.max(0) as u64)).collect();
        Ok(classify(&pairs, base_entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_from_buildkit_and_classic_history() {
        assert_eq!(role_of("COPY /opt/venv /opt/venv # buildkit"), LayerRole::Dependencies);
        assert_eq!(role_of("/bin/sh -c #(nop) COPY dir:3f2a in /opt/venv "), LayerRole::Dependencies);
        assert_eq!(
            role_of("RUN |1 X=1 /bin/sh -c /opt/venv/bin/pip install --no-cache-dir -r requirements.txt # buildkit"),
            LayerRole::Dependencies
        );
        assert_eq!(role_of("COPY pyproject.toml poetry.lock ./ # buildkit"), LayerRole::Dependencies);
        assert_eq!(role_of("COPY src/ /app/ # buildkit"), LayerRole::App);
        assert_eq!(role_of("/bin/sh -c #(nop) COPY dir:abc in /app "), LayerRole::App);
        assert_eq!(role_of("RUN /bin/sh -c useradd app # buildkit"), LayerRole::Other);
    }

    #[test]
    fn base_entries_are_the_oldest() {
        let h = vec![
            ("COPY src/ /app/ # buildkit".to_string(), 10),
            ("CMD [\"x\"]".to_string(), 0),
            ("COPY /opt/venv /opt/venv # buildkit".to_string(), 1000),
            ("Imported from -".to_string(), 50_000),
        ];
        let layers = classify(&h, 1);
        let roles: Vec<_> = layers.iter().map(|l| l.role).collect();
        assert_eq!(roles, [LayerRole::Base, LayerRole::Dependencies, LayerRole::App]);
        assert_eq!(layers[2].created_by, "COPY src/ /app/");
    }
}
