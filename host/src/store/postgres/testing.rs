//! A real PostgreSQL for tests: one server per test process, started on first use from the
//! binaries of Debian's `postgresql` package (or `SWITCHBOARD_PG_BIN`), in a temp folder, on a
//! free loopback port, with a fresh database per test. PostgreSQL refuses to run as root, so as
//! root it runs as the package's `postgres` user. A watcher stops the server and removes its
//! folder when the test process exits, however it exits.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// What to run when PostgreSQL is missing.
pub const INSTALL_HINT: &str = "apt-get install -y postgresql";

/// A PostgreSQL server this process started.
#[derive(Debug)]
pub struct TestServer {
    bin: PathBuf,
    /// The loopback port it listens on.
    pub port: u16,
    next_db: AtomicUsize,
}

/// The folder holding `initdb` and `postgres`, if PostgreSQL is installed.
pub fn find_bin() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("SWITCHBOARD_PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A command run as the `postgres` user when this process is root.
fn as_server_user(program: &Path, root: bool) -> Command {
    if root {
        let mut command = Command::new("setpriv");
        command
            .args([
                "--reuid=postgres",
                "--regid=postgres",
                "--init-groups",
                "--",
            ])
            .arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl TestServer {
    /// The server of this test process, started on first use.
    pub fn shared() -> anyhow::Result<&'static TestServer> {
        static SERVER: OnceLock<Result<TestServer, String>> = OnceLock::new();
        SERVER
            .get_or_init(|| TestServer::start().map_err(|e| format!("{e:#}")))
            .as_ref()
            .map_err(|e| anyhow::anyhow!("cannot start PostgreSQL for the tests: {e}"))
    }

    /// Starts a server that lives as long as this process.
    pub fn start() -> anyhow::Result<TestServer> {
        TestServer::start_with(None)
    }

    /// Starts a server that lives as long as this process and also listens on `listen` (an
    /// address of this machine, e.g. one end of a veth pair), where it lets in `client` (e.g.
    /// the other end, in a network namespace), besides loopback.
    pub fn start_reachable(
        listen: std::net::Ipv4Addr,
        client: std::net::Ipv4Addr,
    ) -> anyhow::Result<TestServer> {
        TestServer::start_with(Some((listen, client)))
    }

    fn start_with(
        reachable: Option<(std::net::Ipv4Addr, std::net::Ipv4Addr)>,
    ) -> anyhow::Result<TestServer> {
        let bin = find_bin().with_context(|| {
            format!(
                "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin); run: {INSTALL_HINT}"
            )
        })?;
        let root = is_root();
        // As root the server runs as `postgres`, which must reach the folder: /tmp, whatever
        // TMPDIR says.
        let tmp = match root {
            true => PathBuf::from("/tmp"),
            false => std::env::temp_dir(),
        };
        let dir = tmp.join(format!("switchboard-pg-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir)?;
        if root {
            let status = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(&dir)
                .status()?;
            if !status.success() {
                bail!("cannot give {} to the postgres user", dir.display());
            }
        }
        let data = dir.join("data");
        let output = as_server_user(&bin.join("initdb"), root)
            .args([
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C",
                "-D",
            ])
            .arg(&data)
            .stdin(Stdio::null())
            .output()
            .context("cannot run initdb")?;
        if !output.status.success() {
            bail!(
                "initdb failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        let mut listen = "127.0.0.1".to_string();
        if let Some((address, client)) = reachable {
            use std::io::Write as _;
            listen.push_str(&format!(",{address}"));
            std::fs::OpenOptions::new()
                .append(true)
                .open(data.join("pg_hba.conf"))
                .and_then(|mut hba| writeln!(hba, "host all all {client}/32 trust"))
                .context("cannot let the client in (pg_hba.conf)")?;
        }
        let port = free_port()?;
        // The server runs under a watcher that stops it, and removes its folder, once this
        // process is gone.
        let script = format!(
            r#""{bin}/postgres" -D "{data}" -p {port} -k "{dir}" -c listen_addresses={listen} \
                -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
                -c max_connections=300 -c shared_buffers=64MB >"{dir}/log" 2>&1 &
            server=$!
            while [ -d /proc/{parent} ] && kill -0 $server 2>/dev/null; do sleep 1; done
            kill -INT $server 2>/dev/null; wait $server; rm -rf "{dir}""#,
            bin = bin.display(),
            data = data.display(),
            dir = dir.display(),
            parent = std::process::id(),
            listen = listen,
        );
        as_server_user(Path::new("/bin/sh"), root)
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start postgres")?;
        let server = TestServer {
            bin,
            port,
            next_db: AtomicUsize::new(0),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ready = Command::new(server.bin.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &port.to_string()])
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return Ok(server);
            }
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
                bail!("PostgreSQL did not start within 60 s: {log}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The URL of database `name` on this server.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// Creates a fresh, empty database and returns its URL.
    pub fn database(&self) -> anyhow::Result<String> {
        let name = format!(
            "t{}_{}",
            self.next_db.fetch_add(1, Ordering::Relaxed),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let output = Command::new(self.bin.join("createdb"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
            ])
            .arg(&name)
            .stdin(Stdio::null())
            .output()
            .context("cannot run createdb")?;
        if !output.status.success() {
            bail!(
                "createdb failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(self.url(&name))
    }

    /// Runs `sql` on the database at `url` with `psql` and returns its rows, one a line, the
    /// columns separated by `|` (what a test reads back to check the store).
    pub fn psql(&self, url: &str, sql: &str) -> anyhow::Result<String> {
        let output = Command::new(self.bin.join("psql"))
            .args([
                "-X",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                url,
                "-c",
                sql,
            ])
            .stdin(Stdio::null())
            .output()
            .context("cannot run psql")?;
        if !output.status.success() {
            bail!(
                "psql failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
    }
}
