//! The service-kind table (`assets/sidecars.toml`, embedded): what pyslim knows about the images
//! started beside an app while it is verified and traced (a database, a cache): which
//! repositories make a kind, its port, how its readiness is proven, the environment `--service`
//! gives it and the address it offers the app.
//!
//! Owns: recognising the kind of an image reference ([`kind_of`]) and the data of each kind. It
//! does not start anything (that is `engine::services`) and does not decide which services a
//! project needs (that is `scan` and the user, through `plan`).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

const SIDECARS_TOML: &str = include_str!("../assets/sidecars.toml");

/// How readiness is proven from outside the container.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Probe {
    /// A protocol 3.0 startup message answered with an authentication request (or an error
    /// other than "the database system is starting up").
    Postgres,
    /// The server's initial handshake packet.
    Mysql,
    /// `PING` answered with `+PONG` (or `-NOAUTH`: up, with a password).
    Redis,
    /// A TCP connection accepted.
    Tcp,
}

impl Probe {
    pub fn as_str(self) -> &'static str {
        match self {
            Probe::Postgres => "a Postgres startup answered",
            Probe::Mysql => "a MySQL handshake",
            Probe::Redis => "PING answered PONG",
            Probe::Tcp => "a TCP connect",
        }
    }
}

/// One row of `assets/sidecars.toml`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceKind {
    pub name: String,
    /// Repositories of this kind (`postgres`, `postgis/postgis`).
    pub images: Vec<String>,
    pub port: u16,
    pub probe: Probe,
    /// A compose-style healthcheck test run inside the container.
    pub health: Vec<String>,
    /// The service's environment when none is given.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Offered to the app; `{host}` is the service's name.
    #[serde(default)]
    pub app_env: BTreeMap<String, String>,
}

impl ServiceKind {
    /// The app's variables for a service of this kind reachable as `host`.
    pub fn app_env_for(&self, host: &str) -> BTreeMap<String, String> {
        self.app_env.iter().map(|(k, v)| (k.clone(), v.replace("{host}", host))).collect()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    kind: Vec<ServiceKind>,
}

/// Every kind in the table.
pub fn all() -> &'static [ServiceKind] {
    static TABLE: OnceLock<Vec<ServiceKind>> = OnceLock::new();
    TABLE.get_or_init(|| match toml::from_str::<Table>(SIDECARS_TOML) {
        Ok(t) => t.kind,
        // The table is embedded and checked by a test: an error here is a build mistake.
        Err(e) => panic!("assets/sidecars.toml does not parse: {e}"),
    })
}

/// The repository of a reference, as the table names it: no registry host, no `library/`, no
/// tag or digest (`docker.io/library/postgres:16` -> `postgres`).
pub fn repository(reference: &str) -> &str {
    let r = reference.trim();
    let r = r.split_once('@').map_or(r, |(a, _)| a);
    let r = match r.split_once('/') {
        Some((first, rest)) if first.contains('.') || first.contains(':') || first == "localhost" => rest,
        _ => r,
    };
    let r = r.strip_prefix("library/").unwrap_or(r);
    let last_slash = r.rfind('/').map_or(0, |i| i + 1);
    match r[last_slash..].rfind(':') {
        Some(i) => &r[..last_slash + i],
        None => r,
    }
}

/// The kind of an image reference, when the table knows it. A mirror prefix (`pyslim-mirror/`)
/// is looked through.
pub fn kind_of(reference: &str, mirror: Option<&str>) -> Option<&'static ServiceKind> {
    let mut repo = repository(reference);
    if let Some(m) = mirror.map(|m| m.trim().trim_end_matches('/')).filter(|m| !m.is_empty()) {
        let m = repository(m);
        if let Some(rest) = repo.strip_prefix(m).and_then(|r| r.strip_prefix('/')) {
            repo = rest;
        }
    }
    all().iter().find(|k| k.images.iter().any(|i| i == repo))
}

/// The kind named `name` (`postgres`, `mysql`, `redis`).
pub fn by_name(name: &str) -> Option<&'static ServiceKind> {
    all().iter().find(|k| k.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_parses_and_every_kind_is_whole() {
        let all = all();
        assert!(all.len() >= 3);
        for k in all {
            assert!(!k.images.is_empty() && k.port > 0, "{}", k.name);
            assert!(matches!(k.health.first().map(String::as_str), Some("CMD" | "CMD-SHELL")), "{}", k.name);
            for v in k.app_env.values() {
                assert!(v.contains("{host}"), "{}: {v} names no host", k.name);
            }
            // every repository belongs to one kind only
            for i in &k.images {
                assert_eq!(kind_of(i, None).map(|x| x.name.as_str()), Some(k.name.as_str()), "{i}");
            }
        }
    }

    #[test]
    fn references_name_their_kind() {
        for (r, want) in [
            ("postgres:16", Some("postgres")),
            ("docker.io/library/postgres:18.1", Some("postgres")),
            ("postgres", Some("postgres")),
            ("mysql/mysql-server:5.7", Some("mysql")),
            ("mariadb:11@sha256:abc", Some("mysql")),
            ("127.0.0.1:5000/redis:7", Some("redis")),
            ("mongo:latest", None),
            ("ghcr.io/python-discord/snekbox:latest", None),
        ] {
            assert_eq!(kind_of(r, None).map(|k| k.name.as_str()), want, "{r}");
        }
        assert_eq!(kind_of("pyslim-mirror/postgres:16", Some("pyslim-mirror")).map(|k| k.port), Some(5432));
        assert_eq!(kind_of("127.0.0.1:5000/m/redis:7", Some("127.0.0.1:5000/m/")).map(|k| k.port), Some(6379));
        assert_eq!(by_name("postgres").unwrap().app_env_for("db")["DATABASE_URL"], "postgresql://app:app@db:5432/app");
    }
}
