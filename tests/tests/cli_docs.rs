//! Shell completions and man pages come from the binary itself (`deleteq completions SHELL`, `deleteq man`), need
//! no config, and `scripts/install.sh` (what `make install` runs) puts them where bash, zsh, fish and man look.

use deleteq_tests::deleteq_in;
use deleteq_tests::process::binary;
use std::process::Command;

fn stdout(out: &std::process::Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn bash_completion_completes_commands_and_subcommands() {
    let dir = tempfile::tempdir().expect("tempdir");
    let script = stdout(&deleteq_in(dir.path(), &["completions", "bash"], &[]));
    let file = dir.path().join("deleteq.bash");
    std::fs::write(&file, &script).expect("write");
    // Completing `deleteq dl` and `deleteq dlq re` the way bash does on TAB.
    let complete = |words: &str, cword: usize| {
        let program = format!(
            "source {}; COMP_WORDS=({words}); COMP_CWORD={cword}; COMP_LINE='{words}'; COMP_POINT=${{#COMP_LINE}}; \
             _deleteq deleteq \"${{COMP_WORDS[$COMP_CWORD]}}\" \"${{COMP_WORDS[$COMP_CWORD-1]}}\"; \
             printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            file.display()
        );
        let out = Command::new("bash").args(["--norc", "-c", &program]).output().expect("bash runs");
        stdout(&out).lines().map(str::to_string).collect::<Vec<_>>()
    };
    assert_eq!(complete("deleteq dl", 1), ["dlq"]);
    let dlq = complete("deleteq dlq ''", 2);
    for sub in ["list", "replay", "purge"] {
        assert!(dlq.iter().any(|w| w == sub), "{dlq:?}");
    }
    let all = complete("deleteq ''", 1);
    for command in ["worker", "enqueue", "campaign", "status", "completions", "man"] {
        assert!(all.iter().any(|w| w == command), "{command} in {all:?}");
    }
}

#[test]
fn every_shell_gets_a_script_and_a_bad_one_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (shell, mark) in
        [("zsh", "#compdef deleteq"), ("fish", "complete -c deleteq"), ("elvish", "deleteq"), ("powershell", "deleteq")]
    {
        let script = stdout(&deleteq_in(dir.path(), &["completions", shell], &[]));
        assert!(script.contains(mark), "{shell}: {script}");
    }
    let out = deleteq_in(dir.path(), &["completions", "tcsh"], &[]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

#[test]
fn the_man_page_renders_and_install_puts_everything_in_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    let page = stdout(&deleteq_in(dir.path(), &["man"], &[]));
    assert!(page.lines().any(|l| l.starts_with(".TH deleteq 1")), "{page}");
    for command in ["worker", "enqueue", "campaign", "dlq", "serve", "completions"] {
        assert!(page.contains(command), "{command} in the man page");
    }

    let root = dir.path().join("root");
    let out = Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/install.sh"))
        .arg(binary())
        .arg("/usr")
        .env("DESTDIR", &root)
        .output()
        .expect("install.sh runs");
    stdout(&out);
    let usr = root.join("usr");
    for file in [
        "bin/deleteq",
        "share/bash-completion/completions/deleteq",
        "share/zsh/site-functions/_deleteq",
        "share/fish/vendor_completions.d/deleteq.fish",
        "share/man/man1/deleteq.1",
        "share/man/man1/deleteq-worker.1",
        "share/man/man1/deleteq-dlq-replay.1",
    ] {
        let path = usr.join(file);
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        assert!(size > 0, "{} is missing or empty", path.display());
    }
    // man itself renders the installed page (when man is on this machine).
    if let Ok(out) = Command::new("man")
        .arg("-l")
        .arg(usr.join("share/man/man1/deleteq-dlq-replay.1"))
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "100")
        .output()
    {
        if out.status.success() {
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.contains("deleteq-dlq-replay") && text.contains("--all"), "{text}");
        }
    }
}
