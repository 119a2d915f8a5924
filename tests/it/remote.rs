//! A remote Docker host, for real: a network namespace with its own address, its own `dockerd`
//! (reachable only over `tcp://` and through its own `sshd`) and a container bridge inside, so
//! its published ports are not on this machine's loopback. pyslim must build there and verify
//! from the daemon's side, over `tcp://` and over `ssh://` (its own `ssh ... docker system
//! dial-stdio` bridge), name ssh's own complaint when ssh fails, and remove the service and probe
//! containers when cancelled mid-verify.
//!
//! Needs root, `ip`, `nsenter`, `dockerd`, `sshd` (scripts/test.sh installs openssh-server) and the
//! stand-in images; under `CI` a missing piece is a failure.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Std};
use std::time::Duration;

use assert_cmd::Command;

use crate::common;
use common::{copy_images, have, is_root, run, stop, wait_for};

const SLIM: &str = "pyslim-mirror/python:3.13-slim";
const DISTROLESS: &str = "pyslim-mirror/distroless/python3-debian13:nonroot";

/// The "remote host": namespace, addresses, daemon, sshd. Dropping it stops both servers and
/// deletes the namespace (and with it the veth pair and the bridge inside).
struct RemoteHost {
    ns: String,
    veth: String,
    ip: String,
    dockerd: Option<Child>,
    sshd: Option<Child>,
    dir: tempfile::TempDir,
}

impl RemoteHost {
    fn start() -> Option<RemoteHost> {
        if !is_root() || !["ip", "nsenter", "dockerd", "ssh", "ssh-keygen"].iter().all(|p| have(p)) {
            return common::missing("the remote-host test needs root, ip, nsenter, dockerd and ssh");
        }
        if !Path::new("/usr/sbin/sshd").exists() {
            return common::missing("no /usr/sbin/sshd (scripts/test.sh installs openssh-server)");
        }
        let k = std::process::id() % 200 + 20;
        let ns = format!("pyslim-remote-{k}");
        let (veth, peer, bridge) = (format!("pyrh{k}"), format!("pyrn{k}"), format!("pyrb{k}"));
        let (host_ip, ip) = (format!("10.214.{k}.1"), format!("10.214.{k}.2"));
        let _ = Std::new("ip").args(["netns", "del", &ns]).output();
        let _ = Std::new("ip").args(["link", "del", &veth]).output();
        let inside = |args: &[&str]| {
            run(Std::new("ip").args(["netns", "exec", &ns]).args(args));
        };
        run(Std::new("ip").args(["netns", "add", &ns]));
        let dir = tempfile::Builder::new().prefix("pyslim-remote").tempdir_in("/tmp").unwrap();
        // From here on the guard cleans up, whatever fails.
        let mut host =
            RemoteHost { ns: ns.clone(), veth: veth.clone(), ip: ip.clone(), dockerd: None, sshd: None, dir };
        run(Std::new("ip").args(["link", "add", &veth, "type", "veth", "peer", "name", &peer]));
        run(Std::new("ip").args(["link", "set", &peer, "netns", &ns]));
        run(Std::new("ip").args(["addr", "add", &format!("{host_ip}/30"), "dev", &veth]));
        run(Std::new("ip").args(["link", "set", &veth, "up"]));
        inside(&["ip", "addr", "add", &format!("{ip}/30"), "dev", &peer]);
        inside(&["ip", "link", "set", &peer, "up"]);
        inside(&["ip", "link", "set", "lo", "up"]);
        inside(&["ip", "link", "add", &bridge, "type", "bridge"]);
        inside(&["ip", "addr", "add", &format!("10.215.{k}.1/24"), "dev", &bridge]);
        inside(&["ip", "link", "set", &bridge, "up"]);

        // dockerd in the namespace's network only (`ip netns exec` would also hide the cgroup
        // mounts dockerd needs), storing on vfs in the temporary folder.
        let d = host.dir.path().to_path_buf();
        std::fs::write(d.join("daemon.json"), r#"{"storage-driver": "vfs"}"#).unwrap();
        std::fs::create_dir_all(d.join("x")).unwrap();
        let dockerd = Std::new("nsenter")
            .arg(format!("--net=/run/netns/{ns}"))
            .arg("dockerd")
            .arg("--config-file")
            .arg(d.join("daemon.json"))
            .arg("--data-root")
            .arg(d.join("data"))
            .arg("--exec-root")
            .arg(d.join("x"))
            .arg("--pidfile")
            .arg(d.join("x/dockerd.pid"))
            .arg("--host")
            .arg(format!("unix://{}", d.join("x/docker.sock").display()))
            .arg("--host")
            .arg(format!("tcp://{ip}:2375"))
            .args(["--tls=false", &format!("--bridge={bridge}"), "--iptables=false", "--ip-masq=false"])
            .stdout(std::fs::File::create(d.join("dockerd.out")).unwrap())
            .stderr(std::fs::File::create(d.join("dockerd.log")).unwrap())
            .spawn()
            .unwrap();
        host.dockerd = Some(dockerd);
        wait_for("the remote dockerd", &d.join("dockerd.log"), || {
            host.docker().arg("info").output().is_ok_and(|o| o.status.success())
        });

        // sshd in the namespace: key login only, every key forced to `docker system dial-stdio`
        // against that daemon (what `docker -H ssh://` runs on a real host).
        for key in ["hostkey", "id", "other-id"] {
            run(Std::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", ""]).arg("-f").arg(d.join(key)));
        }
        let pubkey = std::fs::read_to_string(d.join("id.pub")).unwrap();
        let forced = format!("docker -H unix://{} system dial-stdio", d.join("x/docker.sock").display());
        std::fs::write(
            d.join("authorized_keys"),
            format!("command=\"{forced}\",no-pty,no-port-forwarding,no-agent-forwarding,no-X11-forwarding {pubkey}"),
        )
        .unwrap();
        std::fs::write(
            d.join("sshd_config"),
            format!(
                "Port 2222\nListenAddress {ip}\nHostKey {0}/hostkey\nAuthorizedKeysFile {0}/authorized_keys\n\
                 PermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                 StrictModes no\nUsePAM no\nPidFile {0}/sshd.pid\n",
                d.display()
            ),
        )
        .unwrap();
        let hostkey = std::fs::read_to_string(d.join("hostkey.pub")).unwrap();
        std::fs::write(d.join("known_hosts"), format!("[{ip}]:2222 {hostkey}")).unwrap();
        for (name, key) in [("ssh_config", "id"), ("ssh_config_wrong_key", "other-id")] {
            std::fs::write(
                d.join(name),
                format!(
                    "Host *\n  IdentityFile {0}/{key}\n  IdentitiesOnly yes\n  UserKnownHostsFile {0}/known_hosts\n  \
                     GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n",
                    d.display()
                ),
            )
            .unwrap();
        }
        std::fs::create_dir_all("/run/sshd").unwrap(); // sshd's privilege-separation folder
        host.sshd = Some(
            Std::new("nsenter")
                .arg(format!("--net=/run/netns/{ns}"))
                .args(["/usr/sbin/sshd", "-D", "-e", "-f"])
                .arg(d.join("sshd_config"))
                .stderr(std::fs::File::create(d.join("sshd.log")).unwrap())
                .spawn()
                .unwrap(),
        );
        wait_for("the remote sshd", &d.join("sshd.log"), || TcpStream::connect((ip.as_str(), 2222)).is_ok());
        Some(host)
    }

    fn tcp(&self) -> String {
        format!("tcp://{}:2375", self.ip)
    }

    fn ssh(&self) -> String {
        format!("ssh://root@{}:2222", self.ip)
    }

    fn ssh_command(&self, config: &str) -> String {
        format!("ssh -F {}", self.dir.path().join(config).display())
    }

    fn docker(&self) -> Std {
        let mut c = Std::new("docker");
        c.args(["-H", &self.tcp()]);
        c
    }
}

impl Drop for RemoteHost {
    fn drop(&mut self) {
        if let Some(s) = &mut self.sshd {
            stop(s, Duration::from_secs(5));
        }
        if let Some(d) = &mut self.dockerd {
            stop(d, Duration::from_secs(30));
        }
        let _ = Std::new("ip").args(["netns", "del", &self.ns]).status();
        let _ = Std::new("ip").args(["link", "del", &self.veth]).output();
    }
}

fn pyslim(docker_host: &str, project: &Path) -> Command {
    let mut c = common::pyslim_with(Some(docker_host));
    c.args(["build", "--variant", "distroless", "--entrypoint", "python -m http.server 8000", "--port", "8000"])
        .arg(project)
        .timeout(Duration::from_secs(300));
    c
}

fn said(out: &std::process::Output) -> String {
    let text = format!("{}{}", String::from_utf8_lossy(&out.stderr), String::from_utf8_lossy(&out.stdout));
    eprintln!("pyslim said:\n{text}");
    assert!(!text.contains("panicked"), "{text}");
    text
}

#[test]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
fn a_remote_daemon_over_tcp_and_ssh() {
    if !common::docker_images_ready(&[SLIM, DISTROLESS]) {
        return;
    }
    let docker0 = common::docker0_present();
    let Some(remote) = RemoteHost::start() else { return };
    copy_images(&[SLIM, DISTROLESS], remote.docker().arg("load"));
    let dir = tempfile::tempdir().unwrap();
    // A service with no dependencies (the remote host has no way out to PyPI).
    let project: PathBuf = common::tiny_project(dir.path(), "remote-svc", "remote");

    // tcp://: built there and verified from there.
    let out = pyslim(&remote.tcp(), &project).arg("--verify").output().unwrap();
    let text = said(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains(&format!("at {} (from DOCKER_HOST)", remote.tcp())), "{text}");
    assert!(text.contains("verified (HTTP 200 on GET / after"), "{text}");
    assert!(text.contains("from the daemon's side"), "{text}");

    // The same check made from this machine cannot see the service: the probe side matters.
    let out = pyslim(&remote.tcp(), &project)
        .args(["--verify", "--timeout", "5"])
        .env("PYSLIM_VERIFY_FROM", "host")
        .output()
        .unwrap();
    let text = said(&out);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(text.contains("nothing answered on port 8000 within 5s"), "{text}");

    // ssh://: the same daemon through sshd and `docker system dial-stdio`, BuildKit session included.
    let out = pyslim(&remote.ssh(), &project)
        .args(["--verify", "--no-cache"])
        .env("PYSLIM_SSH_COMMAND", remote.ssh_command("ssh_config"))
        .output()
        .unwrap();
    let text = said(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains(&format!("at {} (from DOCKER_HOST)", remote.ssh())), "{text}");
    assert!(text.contains("(BuildKit)"), "{text}");
    assert!(text.contains("from the daemon's side"), "{text}");

    // ssh failing: its own words reach the user, with exit 1 and the ssh hint.
    let wrong_port = remote.ssh().replace(":2222", ":2223");
    for (host, config, cause) in [
        (wrong_port.as_str(), "ssh_config", "Connection refused"),
        (remote.ssh().as_str(), "ssh_config_wrong_key", "Permission denied (publickey)"),
    ] {
        let out = pyslim(host, &project).env("PYSLIM_SSH_COMMAND", remote.ssh_command(config)).output().unwrap();
        let text = said(&out);
        assert_eq!(out.status.code(), Some(1), "{text}");
        assert!(text.contains(&format!("cannot reach the Docker daemon at {host}")), "{text}");
        assert!(text.contains("ssh failed: ") && text.contains(cause), "{text}");
        assert!(text.contains("BatchMode=yes"), "{text}");
    }

    // Ctrl-C while the probe waits on a service that never answers: both containers go.
    std::fs::write(project.join("app.py"), "import time\ntime.sleep(600)\n").unwrap();
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("pyslim"))
        .env("DOCKER_HOST", remote.tcp())
        .env("PYSLIM_IMAGE_MIRROR", "pyslim-mirror")
        .env("NO_COLOR", "1")
        .args(["build", "--variant", "distroless", "--entrypoint", "python app.py", "--verify"])
        .arg(&project)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let names = || run(remote.docker().args(["ps", "--format", "{{.Names}}"]));
    wait_for("the probe container", &remote.dir.path().join("dockerd.log"), || names().contains("-probe"));
    run(Std::new("kill").args(["-INT", &child.id().to_string()]));
    let out = child.wait_with_output().unwrap();
    let text = said(&out);
    assert_eq!(out.status.code(), Some(130), "{text}");

    // Nothing left running on the remote host.
    assert_eq!(run(remote.docker().args(["ps", "-aq"])).trim(), "", "containers left on the remote host");
    drop(remote);
    assert_eq!(common::docker0_present(), docker0, "the remote host changed the machine's docker0");
}
