//! The real `pyslim tui` binary in a real terminal: tmux runs it at 120x40 inside a shell,
//! `send-keys` types and `capture-pane` reads the screen. One run walks the whole wizard on the
//! demo with Enter against the real Docker daemon (local stand-in images through the mirror),
//! cancelling a build on the way; one runs without a daemon. Both check that quitting gives the
//! shell back with a sane terminal (`stty -a` shows `icanon` and `echo`).
//!
//! Without tmux or Docker the tests are skipped with a printed reason, except under `CI`, where
//! they fail.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const PROMPT: &str = "E2E-PROMPT$";

fn have(cmd: &str, args: &[&str]) -> bool {
    Command::new(cmd).args(args).output().is_ok_and(|o| o.status.success())
}

/// Whether the tools are here; skips (or fails under CI) with the reason otherwise.
fn require(tools: &[(&str, &[&str], &str)]) -> bool {
    for (cmd, args, why) in tools {
        if !have(cmd, args) {
            let msg = format!("tui_e2e needs {why}");
            if std::env::var_os("CI").is_some() {
                panic!("{msg}");
            }
            eprintln!("skipped: {msg}");
            return false;
        }
    }
    true
}

const TMUX: (&str, &[&str], &str) = ("tmux", &["-V"], "tmux (apt-get install tmux)");
const DOCKER: (&str, &[&str], &str) = ("docker", &["info"], "a running Docker daemon");

/// A tmux session running an interactive shell; killed on drop.
struct Session {
    name: String,
}

impl Session {
    fn start(tag: &str, env: &[(&str, &str)]) -> Session {
        let name = format!("pyslim-e2e-{tag}-{}", std::process::id());
        let new_session = || {
            let mut cmd = Command::new("tmux");
            cmd.args(["new-session", "-d", "-s", &name, "-x", "120", "-y", "40"]);
            for (k, v) in env {
                cmd.args(["-e", &format!("{k}={v}")]);
            }
            cmd.args(["-e", &format!("PS1={PROMPT} "), "-e", "TERM=xterm-256color"]);
            cmd.args(["bash", "--norc", "--noprofile"]);
            cmd.output().expect("tmux runs")
        };
        // Two tests that start the first session of a tmux server at the same moment can race for
        // its socket ("server exited unexpectedly"): a second try finds the server up.
        let mut out = new_session();
        for _ in 0..2 {
            if out.status.success() {
                break;
            }
            std::thread::sleep(Duration::from_millis(500));
            out = new_session();
        }
        assert!(out.status.success(), "tmux new-session failed: {}", String::from_utf8_lossy(&out.stderr));
        let s = Session { name };
        s.wait_for(PROMPT, Duration::from_secs(10));
        s
    }

    /// Process id of the wizard, the child of the session's shell.
    fn wizard_pid(&self) -> String {
        let out = Command::new("tmux")
            .args(["display-message", "-p", "-t", &self.name, "#{pane_pid}"])
            .output()
            .expect("tmux");
        let shell = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let out = Command::new("pgrep").args(["-P", &shell]).output().expect("pgrep");
        let pid = String::from_utf8_lossy(&out.stdout).lines().next().unwrap_or_default().trim().to_string();
        assert!(!pid.is_empty(), "no wizard process under the shell {shell}");
        pid
    }

    fn send(&self, keys: &[&str]) {
        let status = Command::new("tmux").args(["send-keys", "-t", &self.name]).args(keys).status().expect("tmux");
        assert!(status.success());
    }

    /// The id of the pyslim process the pane's shell runs (its child).
    fn pyslim_pid(&self) -> String {
        let out =
            Command::new("tmux").args(["list-panes", "-t", &self.name, "-F", "#{pane_pid}"]).output().expect("tmux");
        let shell = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let out = Command::new("pgrep").args(["-P", &shell, "pyslim"]).output().expect("pgrep");
        let pid = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(!pid.is_empty() && !pid.contains('\n'), "one pyslim under the pane's shell {shell}: {pid:?}");
        pid
    }

    fn line(&self, text: &str) {
        self.send(&["-l", text]);
        self.send(&["Enter"]);
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux").args(["capture-pane", "-p", "-t", &self.name]).output().expect("tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The screen with its colours and attributes as SGR escape sequences.
    fn screen_ansi(&self) -> String {
        let out = Command::new("tmux").args(["capture-pane", "-e", "-p", "-t", &self.name]).output().expect("tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until the screen shows `needle`; panics with the screen after `timeout`.
    fn wait_for(&self, needle: &str, timeout: Duration) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if s.contains(needle) {
                return s;
            }
            assert!(start.elapsed() <= timeout, "`{needle}` did not appear within {timeout:?}; screen:\n{s}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Quits the wizard with `q` and checks the shell and the terminal modes are back.
    fn quit_and_check_terminal(&self) {
        self.send(&["q"]);
        self.wait_for("EXIT=0\n", Duration::from_secs(30));
        self.check_terminal();
    }

    /// Checks that the shell is back with the wizard gone and `icanon`/`echo` on.
    fn check_terminal(&self) {
        self.line(
            "clear; stty -a | tr ' ;' '\\n\\n' | grep -xE -- '-?(icanon|echo)' | tr '\\n' ' '; echo MODES-\"\"DONE",
        );
        let s = self.wait_for("MODES-DONE", Duration::from_secs(10));
        let modes =
            s.lines().find(|l| l.ends_with("MODES-DONE") && !l.contains("stty")).unwrap_or_default().to_string();
        let words: Vec<&str> = modes.split_whitespace().collect();
        assert!(words.contains(&"icanon") && words.contains(&"echo"), "terminal not restored: {modes:?}\n{s}");
        assert!(!s.contains("Project: what the scan found"), "the wizard is still on screen:\n{s}");
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = Command::new("tmux").args(["kill-session", "-t", &self.name]).status();
    }
}

fn run_wizard(s: &Session) {
    let bin = env!("CARGO_BIN_EXE_pyslim");
    s.line(&format!("{bin} tui --demo; echo EXIT=$?"));
    s.wait_for("Package manager", Duration::from_secs(60));
}

fn ensure_fixture_images() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = root.join("scripts/fixture-images.sh");
    if !Command::new(&script).arg("--check").status().is_ok_and(|s| s.success()) {
        let ok = Command::new(&script).status().is_ok_and(|s| s.success());
        assert!(ok, "scripts/fixture-images.sh failed");
    }
}

#[test]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
fn the_wizard_walks_with_enter_from_scan_to_the_size_chart() {
    if !require(&[TMUX, DOCKER]) {
        return;
    }
    ensure_fixture_images();
    let s = Session::start("build", &[("PYSLIM_IMAGE_MIRROR", "pyslim-mirror")]);
    run_wizard(&s);
    for title in ["Base images", "Entrypoint and port", "Options", "Preview: the Dockerfile"] {
        s.send(&["Enter"]);
        s.wait_for(title, Duration::from_secs(10));
    }
    s.wait_for("Docker ready", Duration::from_secs(30));

    // Start a build and cancel it at once: the build stops and no verify container is left.
    // (Waiting for a "building" row first is a race: with a warm layer cache all four variants
    // build and verify within seconds.)
    s.send(&["Enter"]);
    std::thread::sleep(Duration::from_millis(400));
    s.send(&["Escape"]);
    s.wait_for("containers removed", Duration::from_secs(120));
    // this wizard's own (other tests of the suite may verify meanwhile): by its process id
    let pid = s.pyslim_pid();
    let left = Command::new("docker")
        .args(["ps", "-aq", "--filter", &format!("label=org.pyslim.pid={pid}"), "--filter", "name=pyslim-verify-"])
        .output()
        .expect("docker ps");
    assert!(String::from_utf8_lossy(&left.stdout).trim().is_empty(), "containers left after cancel");
    s.send(&["Escape"]);
    s.wait_for("Preview: the Dockerfile", Duration::from_secs(10));

    // Enter builds every variant, verifies it and lands on the chart.
    s.send(&["Enter"]);
    let screen = s.wait_for("Results: image sizes", Duration::from_secs(20 * 60));
    assert!(screen.contains("x smaller"), "no ratio on the chart:\n{screen}");
    assert!(screen.contains(" MB"), "no sizes on the chart:\n{screen}");
    assert!(screen.contains("✓ started"), "no image started:\n{screen}");
    s.quit_and_check_terminal();
}

#[test]
fn without_a_daemon_the_wizard_previews_writes_and_says_why_it_cannot_build() {
    if !require(&[TMUX]) {
        return;
    }
    let s = Session::start("nodaemon", &[("DOCKER_HOST", "unix:///nonexistent.sock")]);
    run_wizard(&s);
    for _ in 0..4 {
        s.send(&["Enter"]);
        std::thread::sleep(Duration::from_millis(300));
    }
    let screen = s.wait_for("Cannot build", Duration::from_secs(30));
    assert!(screen.contains("Preview: the Dockerfile"), "{screen}");
    assert!(screen.contains("nonexistent.sock"), "the endpoint tried is named:\n{screen}");
    assert!(screen.contains("FROM "), "the Dockerfile is shown:\n{screen}");
    // Enter does not start a build; w writes after confirmation.
    s.send(&["Enter"]);
    std::thread::sleep(Duration::from_millis(500));
    assert!(s.screen().contains("Preview: the Dockerfile"));
    s.send(&["w"]);
    s.wait_for("Write the files?", Duration::from_secs(10));
    s.send(&["Enter"]);
    s.wait_for("wrote Dockerfile", Duration::from_secs(10));
    s.quit_and_check_terminal();
}

#[test]
fn no_color_draws_without_colours_and_keeps_the_attributes() {
    if !require(&[TMUX]) {
        return;
    }
    let s = Session::start("nocolor", &[("NO_COLOR", "1"), ("DOCKER_HOST", "unix:///nonexistent.sock")]);
    run_wizard(&s);
    s.send(&["Enter"]);
    s.wait_for("Runtime images", Duration::from_secs(10));
    let ansi = s.screen_ansi();
    let sgr: Vec<&str> =
        ansi.split("\x1b[").skip(1).filter_map(|p| p.split_once('m').map(|(codes, _)| codes)).collect();
    let coloured: Vec<&&str> = sgr
        .iter()
        .filter(|codes| {
            codes.split(';').any(|c| matches!(c.parse::<u8>(), Ok(30..=37 | 38 | 40..=47 | 48 | 90..=97 | 100..=107)))
        })
        .collect();
    assert!(coloured.is_empty(), "colour codes under NO_COLOR: {coloured:?}");
    assert!(sgr.iter().any(|c| c.split(';').any(|c| c == "7")), "the selection is still shown (reversed)");
    s.quit_and_check_terminal();
}

#[test]
fn sigterm_restores_the_terminal() {
    if !require(&[TMUX]) {
        return;
    }
    let s = Session::start("sigterm", &[("DOCKER_HOST", "unix:///nonexistent.sock")]);
    run_wizard(&s);
    let pid = s.wizard_pid();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
    assert!(killed.success());
    s.wait_for("EXIT=0\n", Duration::from_secs(30));
    s.check_terminal();
}

#[test]
fn closing_the_terminal_ends_the_wizard() {
    if !require(&[TMUX]) {
        return;
    }
    let s = Session::start("hangup", &[("DOCKER_HOST", "unix:///nonexistent.sock")]);
    run_wizard(&s);
    let pid = s.wizard_pid();
    // Close the terminal under the wizard: its pty goes away. It must leave, not spin on a
    // dead terminal (an orphan wizard once kept a CPU core 40 % busy).
    let _ = Command::new("tmux").args(["kill-session", "-t", &s.name]).status();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while Path::new(&format!("/proc/{pid}")).exists() {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        if state.split_whitespace().nth(2) == Some("Z") {
            break; // exited, waiting to be reaped by init
        }
        assert!(std::time::Instant::now() < deadline, "the wizard {pid} outlived its terminal");
        std::thread::sleep(Duration::from_millis(200));
    }
}
