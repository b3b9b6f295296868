//! What `cargo xtask test` needs from the system besides Rust, installed when it can be: Debian's
//! Chromium (the console's browser test) and Python's venv (the Python adapter's build). As root
//! (or with `sudo` that asks no password) on a machine with apt-get it installs them, as `.ci/run`
//! does; otherwise it prints the one command that would, and the tests that need them fail
//! saying what is missing.

use std::path::Path;
use std::process::{Command, Stdio};

/// A system package and how to tell it is there.
struct Need {
    package: &'static str,
    present: fn() -> bool,
}

const NEEDS: &[Need] = &[
    Need {
        package: "chromium",
        present: chromium_present,
    },
    Need {
        package: "python3-venv",
        present: venv_present,
    },
];

fn chromium_present() -> bool {
    std::env::var_os("CHROMIUM").is_some_and(|p| Path::new(&p).is_file())
        || Path::new("/usr/bin/chromium").is_file()
}

fn venv_present() -> bool {
    quietly(Command::new("python3").args(["-c", "import venv, ensurepip"]))
}

fn quietly(command: &mut Command) -> bool {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Installs what is missing when it can; says what to run when it cannot. Never fails: a test
/// that needs a missing package says so itself.
pub fn ensure() {
    let missing: Vec<&str> = NEEDS
        .iter()
        .filter(|n| !(n.present)())
        .map(|n| n.package)
        .collect();
    if missing.is_empty() {
        return;
    }
    let install = format!("apt-get install -y {}", missing.join(" "));
    let has_apt = quietly(Command::new("apt-get").arg("--version"));
    let root = quietly(Command::new("sh").args(["-c", "[ \"$(id -u)\" -eq 0 ]"]));
    let sudo = !root && quietly(Command::new("sudo").args(["-n", "true"]));
    if !has_apt || !(root || sudo) {
        eprintln!(
            "note: {} missing; install {} (e.g. `sudo apt-get update && sudo {install}`), \
             or the tests that need them fail",
            missing.join(" and "),
            if missing.len() == 1 { "it" } else { "them" }
        );
        return;
    }
    let prefix: &[&str] = if root { &[] } else { &["sudo", "-n"] };
    let apt = |args: &[&str]| {
        let mut all: Vec<&str> = prefix.to_vec();
        all.push("apt-get");
        all.extend_from_slice(args);
        eprintln!("==> {}", all.join(" "));
        Command::new(all[0])
            .args(&all[1..])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|s| s.success())
    };
    let mut install_args = vec!["install", "-y", "-qq"];
    install_args.extend(missing.iter().copied());
    if !(apt(&["update", "-qq"]) && apt(&install_args)) {
        eprintln!(
            "note: could not install {}; run `{install}`",
            missing.join(" ")
        );
    }
}
