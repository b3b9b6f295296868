//! The installed Debian package, end to end: `cargo xtask test-dist` builds the package
//! (`cargo xtask dist --profile dev`), installs it with `dpkg -i` and runs this test with
//! `SWITCHBOARD_INSTALLED=/usr/bin/switchboard`, then purges the package.
//!
//! The installed binary runs as the package's `switchboard` user, from `/`, on the installed
//! configuration (`/etc/switchboard/switchboard.toml`: store and compiled-plugin cache under
//! `/var/lib/switchboard`) with a listen port, an X integration pointed at the platform
//! simulator and the echo flow added. No plugins folder and no built console exist where it
//! looks, so the X adapter and the console it serves are the ones built into the binary.
//!
//! Ignored in `cargo xtask test`: it needs root and the package installed.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime};

use hyper::StatusCode;
use switchboard_tests::fixtures::{XDm, unix_millis};
use switchboard_tests::harness::{
    Api, TempDir, WAIT, X_ACCESS_TOKEN, X_ACCOUNT_ID, X_CONSUMER_SECRET, X_INTEGRATION, eventually,
    free_port, sim_config, workspace_dir,
};
use switchboard_tests::sim::PlatformSim;

const INSTALLED_CONFIG: &str = "/etc/switchboard/switchboard.toml";
const STATE_DIR: &str = "/var/lib/switchboard";
const CUSTOMER: &str = "1500000000000000777";
/// How long the installed host may take to answer `/healthz` (its first start compiles the
/// adapters).
const START_DEADLINE: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the package installed: run `cargo xtask test-dist` (as root)"]
async fn the_installed_package_serves_webhooks_and_the_console_from_the_binary_alone() {
    let binary = PathBuf::from(std::env::var_os("SWITCHBOARD_INSTALLED").expect(
        "SWITCHBOARD_INSTALLED names the installed binary (`cargo xtask test-dist` sets it)",
    ));
    for nothing_there in [
        "/etc/switchboard/plugins",
        "/console/dist",
        "/target/plugins",
    ] {
        assert!(
            !Path::new(nothing_there).exists(),
            "{nothing_there} exists: the installed host must not find plugins or a console there"
        );
    }

    let sim = PlatformSim::start(sim_config())
        .await
        .expect("starting the simulator");
    let dir = TempDir::new("dist");
    let flows = dir.path().join("flows");
    std::fs::create_dir_all(&flows).unwrap();
    std::fs::copy(
        workspace_dir()
            .join("tests")
            .join("flows")
            .join("echo.yaml"),
        flows.join("echo.yaml"),
    )
    .unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let config = dir.path().join("switchboard.toml");
    std::fs::write(&config, test_config(&listen, &flows, &sim.base_url())).unwrap();
    let log = dir.path().join("host.log");

    let mut host = InstalledHost::start(&binary, &config, &log);
    let api = Api::new(&format!("http://{listen}"));
    sim.set_host_base_url(format!("http://{listen}"));
    host.wait_healthy(&api, &log).await;

    // It says where its plugins and console come from.
    let started = read(&log);
    for said in [
        "plugins: built into this binary (",
        "the folder /etc/switchboard/plugins does not exist",
        "console: built into this binary (",
    ] {
        assert!(started.contains(said), "the log lacks {said:?}:\n{started}");
    }
    let adapter_line = started
        .lines()
        .find(|line| line.contains("adapter loaded") && line.contains("plugin=x"))
        .unwrap_or_else(|| panic!("no `adapter loaded` line for x:\n{started}"));
    assert!(
        adapter_line.contains("built into the binary"),
        "{adapter_line}"
    );

    // A customer's DM, signed as X signs it, is taken and answered through the built-in adapter.
    let dm = XDm {
        event_id: format!("dist-{}", unix_millis(SystemTime::now())),
        sender_id: CUSTOMER.into(),
        for_user_id: X_ACCOUNT_ID.into(),
        text: "is this the installed one?".into(),
        created_ms: unix_millis(SystemTime::now()),
        ..XDm::default()
    };
    let (status, body) = sim.send_x_dm(X_INTEGRATION, &dm).await.unwrap();
    assert_eq!(status, 200, "the webhook was answered {status}: {body}");
    let reply = eventually("the echo reaches the customer on X", WAIT, || async {
        match sim
            .delivered()
            .into_iter()
            .find(|d| d.recipient_id == CUSTOMER)
        {
            Some(reply) => Ok(reply),
            None => Err(format!(
                "delivered {:?}; refused {:?}\n{}",
                sim.delivered(),
                sim.refused()
                    .iter()
                    .map(|r| r.to_string())
                    .collect::<Vec<_>>(),
                read(&log)
            )),
        }
    })
    .await;
    assert_eq!(
        reply.text.as_deref(),
        Some("echo: is this the installed one?")
    );

    // The console is the one built into the binary: the same files `cargo xtask build-console`
    // made, its scripts served as JavaScript.
    let page = api.get("/console/", None).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    assert_eq!(page.headers["content-type"], "text/html; charset=utf-8");
    let built = workspace_dir()
        .join("console")
        .join("dist")
        .join("index.html");
    assert_eq!(
        page.text(),
        std::fs::read_to_string(&built).unwrap(),
        "/console/ is not {}",
        built.display()
    );
    let script = page
        .text()
        .split("src=\"/console/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("no script in the console's page:\n{}", page.text()));
    let asset = api.get(&format!("/console/{script}"), None).await;
    assert_eq!(asset.status, StatusCode::OK, "/console/{script}");
    assert_eq!(
        asset.headers["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert!(!asset.body.is_empty());

    // The state went where the package put it, written by the service's own user: the store and
    // the adapters compiled from the binary's bytes, cached for the next start.
    let owner = uid_of("switchboard");
    let store = Path::new(STATE_DIR).join("switchboard.db");
    assert_eq!(file_owner(&store), owner, "{}", store.display());
    let cache = Path::new(STATE_DIR).join("plugin-cache");
    let cached: Vec<PathBuf> = std::fs::read_dir(&cache)
        .unwrap_or_else(|e| panic!("{}: {e}\n{}", cache.display(), read(&log)))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .collect();
    assert!(
        !cached.is_empty(),
        "nothing compiled in {}",
        cache.display()
    );
    assert!(cached.iter().all(|p| file_owner(p) == owner), "{cached:?}");

    host.stop();
}

/// The installed configuration with a free listen port, the echo flow, and the X integration
/// pointed at the simulator; the store, plugin and cache paths stay the package's.
fn test_config(listen: &str, flows: &Path, sim: &str) -> String {
    let installed = std::fs::read_to_string(INSTALLED_CONFIG)
        .unwrap_or_else(|e| panic!("cannot read {INSTALLED_CONFIG}: {e}"));
    let mut config: toml::Table = toml::from_str(&installed)
        .unwrap_or_else(|e| panic!("{INSTALLED_CONFIG} is not TOML: {e}"));
    let table = |config: &mut toml::Table, key: &str| -> toml::Table {
        config
            .get(key)
            .and_then(|v| v.as_table())
            .cloned()
            .unwrap_or_else(|| panic!("{INSTALLED_CONFIG} has no [{key}]"))
    };
    let mut server = table(&mut config, "server");
    server.insert("listen".into(), listen.into());
    config.insert("server".into(), server.into());
    let mut flows_table = table(&mut config, "flows");
    flows_table.insert("dir".into(), flows.to_string_lossy().into_owned().into());
    config.insert("flows".into(), flows_table.into());
    let integration: toml::Table = toml::from_str(&format!(
        r#"id = "{X_INTEGRATION}"
adapter = "x"
flow = "echo"
[settings]
consumer_secret = "{X_CONSUMER_SECRET}"
access_token = "{X_ACCESS_TOKEN}"
account_id = "{X_ACCOUNT_ID}"
api_base = "{sim}"
"#
    ))
    .unwrap();
    config.insert(
        "integration".into(),
        toml::Value::Array(vec![integration.into()]),
    );
    toml::to_string(&config).unwrap()
}

/// `switchboard serve` as the package's user, from `/`, with nothing of this environment.
struct InstalledHost {
    child: Option<Child>,
}

impl InstalledHost {
    fn start(binary: &Path, config: &Path, log: &Path) -> InstalledHost {
        let out = std::fs::File::create(log).unwrap();
        let child = Command::new("setpriv")
            .args([
                "--reuid=switchboard",
                "--regid=switchboard",
                "--clear-groups",
                "--",
            ])
            .arg(binary)
            .arg("serve")
            .arg("--config")
            .arg(config)
            .current_dir("/")
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("RUST_LOG", "info,cranelift=warn,wasmtime=warn")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run setpriv {}: {e}", binary.display()));
        InstalledHost { child: Some(child) }
    }

    /// Waits until it answers `/healthz` (a cold start compiles the adapters first).
    async fn wait_healthy(&mut self, api: &Api, log: &Path) {
        let deadline = tokio::time::Instant::now() + START_DEADLINE;
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("the installed host exited with {status}:\n{}", read(log));
            }
            if let Ok(response) = api
                .request(hyper::Method::GET, "/healthz", None, &[], Vec::new())
                .await
                && response.status == StatusCode::OK
            {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the installed host did not answer /healthz within {START_DEADLINE:?}:\n{}",
                read(log)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGTERM, as systemd stops it, and waits for the exit.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = std::time::Instant::now() + Duration::from_secs(30);
            while child.try_wait().ok().flatten().is_none() {
                if std::time::Instant::now() > deadline {
                    let _ = child.kill();
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.wait();
        }
    }
}

impl Drop for InstalledHost {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn read(path: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut file) = std::fs::File::open(path) {
        let _ = file.read_to_string(&mut text);
    }
    text
}

fn uid_of(user: &str) -> u32 {
    let output = Command::new("id").args(["-u", user]).output().unwrap();
    assert!(
        output.status.success(),
        "no user {user}: the package creates it"
    );
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .unwrap()
}

fn file_owner(path: &Path) -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .uid()
}
