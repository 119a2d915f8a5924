//! `ssh://` endpoints, the way the `docker` CLI reaches them: each API connection is one
//! `ssh [-l USER] [-p PORT] HOST docker system dial-stdio`, whose stdin and stdout carry the
//! daemon's HTTP. A private Unix socket in a 0700 temporary folder fronts those processes, so the
//! rest of the engine talks to it like any local socket. The ssh program is the system's (your
//! `~/.ssh/config`, agent and known hosts apply), or `PYSLIM_SSH_COMMAND` (split on whitespace,
//! like `GIT_SSH_COMMAND`). It runs with `BatchMode=yes`: a terminal wizard cannot answer a
//! password prompt, so keys or an agent are needed. ssh's own complaint (refused, host key,
//! permission denied) is kept for the error message.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use tokio::io::AsyncReadExt;
use tokio::net::UnixListener;
use tokio::process::Command;

/// A parsed `ssh://[user@]host[:port]` address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SshTarget {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
}

impl SshTarget {
    pub fn parse(url: &str) -> Result<SshTarget, String> {
        let rest = url.strip_prefix("ssh://").ok_or_else(|| format!("`{url}` is not an ssh:// address"))?;
        let authority = rest.split('/').next().unwrap_or_default();
        if !rest[authority.len()..].trim_matches('/').is_empty() {
            return Err(format!("`{url}`: a path after the host is not supported (the remote runs `docker`)"));
        }
        let (user, host, port) = super::address::split_authority(rest).map_err(|why| format!("`{url}`: {why}"))?;
        let (user, host) = (user.filter(|u| !u.is_empty()).map(str::to_string), host.to_string());
        let port = match port {
            Some(p) => Some(p.parse::<u16>().map_err(|_| format!("`{url}`: `{p}` is not a port number"))?),
            None => None,
        };
        if host.is_empty() || host.starts_with('-') || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!("`{url}`: no usable host name"));
        }
        if user.as_deref().is_some_and(|u| u.starts_with('-') || u.chars().any(char::is_whitespace)) {
            return Err(format!("`{url}`: not a usable user name"));
        }
        Ok(SshTarget { user, host, port })
    }

    /// The ssh command line (program first) that runs `docker system dial-stdio` on the host.
    pub fn command(&self, ssh_command: Option<&str>) -> Vec<String> {
        let mut argv: Vec<String> = ssh_command
            .map(|c| c.split_whitespace().map(str::to_string).collect::<Vec<_>>())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| vec!["ssh".into()]);
        argv.extend(["-o".into(), "BatchMode=yes".into()]);
        if let Some(u) = &self.user {
            argv.extend(["-l".into(), u.clone()]);
        }
        if let Some(p) = self.port {
            argv.extend(["-p".into(), p.to_string()]);
        }
        argv.extend(["--".into(), self.host.clone(), "docker".into(), "system".into(), "dial-stdio".into()]);
        argv
    }
}

/// The local socket in front of the ssh processes; dropping it stops accepting and removes the
/// socket folder (connections in flight end with their ssh processes).
#[derive(Debug)]
pub struct Bridge {
    dir: tempfile::TempDir,
    accept: tokio::task::JoinHandle<()>,
    /// The last lines ssh wrote to stderr, for the error when the daemon cannot be reached.
    stderr: Arc<Mutex<SshSaid>>,
}

/// What the latest ssh process wrote to stderr, and whether it has finished writing.
#[derive(Debug, Default)]
struct SshSaid {
    text: String,
    done: bool,
}

impl Bridge {
    pub fn start(target: &SshTarget) -> std::io::Result<Bridge> {
        let dir = tempfile::Builder::new().prefix("pyslim-ssh").tempdir()?;
        let listener = UnixListener::bind(dir.path().join("docker.sock"))?;
        let argv = target.command(std::env::var("PYSLIM_SSH_COMMAND").ok().as_deref());
        let stderr = Arc::new(Mutex::new(SshSaid::default()));
        let said = stderr.clone();
        let accept = tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let (argv, said) = (argv.clone(), said.clone());
                tokio::spawn(async move { relay(conn, &argv, said).await });
            }
        });
        Ok(Bridge { dir, accept, stderr })
    }

    /// The socket to hand to the Docker client.
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("docker.sock")
    }

    /// What ssh last complained about (empty when it said nothing), once it has finished
    /// saying it or `wait` has passed.
    pub async fn ssh_said(&self, wait: std::time::Duration) -> String {
        let until = std::time::Instant::now() + wait;
        loop {
            let (text, done) = self.stderr.lock().map(|s| (s.text.trim().to_string(), s.done)).unwrap_or_default();
            if done || std::time::Instant::now() >= until {
                return text;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// One API connection: an ssh process whose stdio is spliced to the accepted socket.
async fn relay(conn: tokio::net::UnixStream, argv: &[String], said: Arc<Mutex<SshSaid>>) {
    if let Ok(mut s) = said.lock() {
        *s = SshSaid::default();
    }
    let mut child = match Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            if let Ok(mut s) = said.lock() {
                *s = SshSaid { text: format!("cannot run `{}`: {e}", argv[0]), done: true };
            }
            return;
        }
    };
    let (Some(mut stdin), Some(mut stdout), Some(mut err)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return;
    };
    let errors = tokio::spawn(async move {
        let mut text = String::new();
        let _ = err.read_to_string(&mut text).await;
        let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        if let Ok(mut s) = said.lock() {
            *s = SshSaid { text: lines[lines.len().saturating_sub(5)..].join("; "), done: true };
        }
    });
    let (mut rd, mut wr) = conn.into_split();
    let up = async {
        let _ = tokio::io::copy(&mut rd, &mut stdin).await;
        drop(stdin);
    };
    let down = async {
        let _ = tokio::io::copy(&mut stdout, &mut wr).await;
        let _ = tokio::io::AsyncWriteExt::shutdown(&mut wr).await;
    };
    // The daemon's answer ending (or ssh exiting) ends the connection.
    tokio::select! {
        _ = async { tokio::join!(up, down) } => {}
        _ = child.wait() => {}
    }
    let _ = child.start_kill();
    let _ = errors.await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ssh_addresses() {
        let t = SshTarget::parse("ssh://deploy@build-box:2222").unwrap();
        assert_eq!(t, SshTarget { user: Some("deploy".into()), host: "build-box".into(), port: Some(2222) });
        let t = SshTarget::parse("ssh://build-box").unwrap();
        assert_eq!(t, SshTarget { user: None, host: "build-box".into(), port: None });
        let t = SshTarget::parse("ssh://root@[fd00::2]:22").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("fd00::2", Some(22)));
        assert!(SshTarget::parse("ssh://box/").is_ok());
        for bad in ["ssh://", "ssh://u@", "ssh://box:port", "ssh://-oProxyCommand=x", "ssh://box/var/run", "tcp://x"] {
            assert!(SshTarget::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn builds_the_ssh_command() {
        let t = SshTarget::parse("ssh://deploy@box:2222").unwrap();
        assert_eq!(t.command(None).join(" "), "ssh -o BatchMode=yes -l deploy -p 2222 -- box docker system dial-stdio");
        assert_eq!(
            t.command(Some("ssh -F /tmp/cfg")).join(" "),
            "ssh -F /tmp/cfg -o BatchMode=yes -l deploy -p 2222 -- box docker system dial-stdio"
        );
        assert_eq!(t.command(Some("  ")).first().map(String::as_str), Some("ssh"));
    }
}
