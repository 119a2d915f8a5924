//! Package-index credentials written into project files: `--index-url
//! https://user:token@host/simple` in requirement files, `pip.conf`/`pip.ini`, Pipfile
//! `[[source]]`, Poetry/uv/PDM sources in pyproject.toml. Each is a warning naming file and line
//! (never the token) and an entry in [`ScanReport::index_credentials`]; the render side keeps
//! those files out of every final image. Other secrets in the build context are `secrets`'.

use std::sync::OnceLock;

use regex::Regex;

use super::ScanReport;
use super::files::Ctx;

/// pip configuration files a project may carry (pip reads them through `PIP_CONFIG_FILE` or a
/// copy into the image).
const PIP_CONFIGS: &[&str] = &["pip.conf", "pip.ini", ".pip/pip.conf", ".config/pip/pip.conf", "pip/pip.conf"];

/// Files that name an index besides the dependency files (which are always read).
const INDEX_FILES: &[&str] = &["pyproject.toml", "Pipfile"];

/// One URL with credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential {
    /// Path relative to the build context root.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// The URL with its secret part masked (`https://user:***@host/simple`).
    pub masked: String,
}

fn url_with_userinfo() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"(?i)\b(https?)://([^/@\s'\x22]+)@([^\s'\x22]+)").expect("a fixed, tested pattern"))
}

/// Credentials in one line: URLs whose user-info holds a literal secret (`user:token@`,
/// `token@`). `${VAR}` references are how pip wants it and are not secrets.
fn in_line(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    for c in url_with_userinfo().captures_iter(line) {
        let (scheme, info, rest) = (&c[1], &c[2], &c[3]);
        // `$VAR` and `${VAR}` are expanded by pip from the environment: not a literal secret.
        let literal = |s: &str| !(s.is_empty() || s.starts_with('$'));
        let masked = match info.split_once(':') {
            Some((user, pass)) if literal(pass) => format!("{scheme}://{user}:***@{rest}"),
            Some(_) => continue,
            None if literal(info) => format!("{scheme}://***@{rest}"),
            None => continue,
        };
        out.push(masked);
    }
    out
}

/// Fills `report.index_credentials` and warns once per file.
pub fn detect(ctx: &mut Ctx, report: &mut ScanReport) {
    let mut files: Vec<String> =
        report.dependency_files.iter().filter(|f| !f.starts_with("../") && !f.ends_with(".lock")).cloned().collect();
    for f in INDEX_FILES.iter().chain(PIP_CONFIGS) {
        if !files.iter().any(|x| x == f) && ctx.is_file(f) {
            files.push(f.to_string());
        }
    }
    let mut found = Vec::new();
    for file in files {
        let Some(text) = ctx.read(&file) else { continue };
        for (i, line) in text.lines().enumerate() {
            let code = line.split(" #").next().unwrap_or(line);
            if code.trim_start().starts_with('#') {
                continue;
            }
            for masked in in_line(code) {
                found.push(Credential { file: file.clone(), line: i + 1, masked });
            }
        }
    }
    let mut warned: Vec<&str> = Vec::new();
    for c in &found {
        if warned.contains(&c.file.as_str()) {
            continue;
        }
        warned.push(&c.file);
        let lines: Vec<String> = found.iter().filter(|o| o.file == c.file).map(|o| o.line.to_string()).collect();
        report.warnings.push(format!(
            "{}:{} has a package-index URL with credentials ({}): pyslim keeps this file out of every final \
             image (the image gets it without the credentials), but only the builder stage should see a token: \
             pass it as a build secret instead (--build-secret id=pipconf,src=~/.config/pip/pip.conf,\
             target=/etc/pip.conf, or a ${{VAR}} in the URL; see docs/security.md)",
            c.file,
            lines.join(","),
            c.masked
        ));
    }
    report.index_credentials = found.into_iter().map(|c| format!("{}:{}", c.file, c.line)).collect();
}

/// The files of `index_credentials` (`requirements.txt:3` -> `requirements.txt`), once each.
pub fn credential_files(entries: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for e in entries {
        let f = e.rsplit_once(':').map_or(e.as_str(), |(f, _)| f).to_string();
        if !out.contains(&f) {
            out.push(f);
        }
    }
    out
}

/// Whether a project file is a pip configuration file (removed, not cleaned, from the image).
pub fn is_pip_config(file: &str) -> bool {
    PIP_CONFIGS.contains(&file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_secrets_are_found_and_masked() {
        assert_eq!(
            in_line("--index-url https://deploy:s3cr3t-t0ken@pypi.example.com/simple"),
            ["https://deploy:***@pypi.example.com/simple"]
        );
        assert_eq!(in_line("-i https://ghp_abcdef123456@host/simple/"), ["https://***@host/simple/"]);
        assert_eq!(in_line(r#"url = "https://__token__:pypi-AgE@host/simple""#), ["https://__token__:***@host/simple"]);
    }

    #[test]
    fn variables_and_plain_urls_are_not_secrets() {
        assert!(in_line("--index-url https://${USER}:${TOKEN}@host/simple").is_empty());
        assert!(in_line("--index-url https://pypi.org/simple").is_empty());
        assert!(in_line("pkg @ git+ssh://git@github.com/org/pkg.git").is_empty());
        assert!(in_line("flask==3.0.0  # see https://flask.palletsprojects.com").is_empty());
    }

    #[test]
    fn files_of_entries() {
        let e = vec!["requirements.txt:1".to_string(), "requirements.txt:4".into(), "pip.conf:2".into()];
        assert_eq!(credential_files(&e), ["requirements.txt", "pip.conf"]);
    }
}
