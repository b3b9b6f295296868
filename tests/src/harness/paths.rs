//! Where things are: the workspace, the built plugins and host binary, free ports, and temporary
//! folders that outlive a failed test.

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The workspace root (the parent of this crate's folder).
pub fn workspace_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lives inside the workspace")
        .to_path_buf()
}

/// The built plugins: `SWITCHBOARD_PLUGINS_DIR` (set by `cargo xtask test`), else
/// `<workspace>/target/plugins`.
pub fn plugins_dir() -> PathBuf {
    std::env::var_os("SWITCHBOARD_PLUGINS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_dir().join("target").join("plugins"))
}

/// The host binary: `SWITCHBOARD_BIN`, else `switchboard` next to the folder the test executable
/// runs from (`target/debug/deps/..` is `target/debug`).
pub fn host_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("SWITCHBOARD_BIN") {
        let bin = PathBuf::from(bin);
        assert!(
            bin.is_file(),
            "SWITCHBOARD_BIN={} does not exist",
            bin.display()
        );
        return bin;
    }
    let exe = std::env::current_exe().expect("the test executable's path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| {
            if deps.file_name().is_some_and(|n| n == "deps") {
                deps.parent()
            } else {
                Some(deps)
            }
        })
        .expect("the test executable lives in target/<profile>/deps");
    let bin = profile_dir.join(format!("switchboard{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "the switchboard binary is missing at {}: build it with `cargo build -p switchboard` or run `cargo xtask test`",
        bin.display()
    );
    bin
}

/// A free loopback port: bound, read and released (the host binds it right after).
pub fn free_port() -> u16 {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("binding a free loopback port");
    listener
        .local_addr()
        .expect("the listener's address")
        .port()
}

/// A folder removed when dropped, unless the thread is panicking: a failed test keeps its config,
/// database and host log for a look.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!(
            "switchboard-e2e-{label}-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        TempDir { path }
    }

    /// A folder `parent/label`, emptied first if it is there; removed when dropped (unless the
    /// thread is panicking).
    pub fn under(parent: &Path, label: &str) -> TempDir {
        let path = parent.join(label);
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        TempDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("kept {} for inspection", self.path.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}
