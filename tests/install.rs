//! What an installed pyslim offers the shell: completion scripts and the man page, generated
//! from the same clap definition as `--help` (so they know every flag, `--pull` and `--push` too).

use assert_cmd::Command;

fn pyslim(args: &[&str]) -> String {
    let out = Command::cargo_bin("pyslim").unwrap().args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn completions_know_the_subcommands_and_flags() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = pyslim(&["completions", shell]);
        for word in ["compare", "pull", "push", "mirror", "always"] {
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
    }
    let out = Command::cargo_bin("pyslim").unwrap().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "an unknown shell is a usage error");
}

#[test]
fn man_page_documents_every_subcommand() {
    let page = pyslim(&["man"]);
    assert!(page.starts_with(".ie") || page.contains(".TH pyslim"), "{}", &page[..200.min(page.len())]);
    for word in ["PYSLIM BUILD", "PYSLIM COMPARE", "PYSLIM TUI", "\\-\\-push", "\\-\\-pull"] {
        assert!(page.contains(word), "man page lacks {word}");
    }
}
