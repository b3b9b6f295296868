//! The load driver behind `cargo xtask bench`; see `switchboard_tests::bench` and the README's
//! Performance section. xtask starts the servers and runs, in order:
//!
//! ```text
//! bench peers  --out FILE --consumer-secret S --account-id A [--node-red URL --node-red-pid PID
//!              | --node-red-skipped REASON] [--seconds 10] [--connections 32] [--max-rate 20000]
//! bench host   --out FILE --target URL [--target URL ...] --consumer-secret S --account-id A
//!              --access-token T --x-api-listen ADDR [--label empty] [--store sqlite|postgres]
//!              [--integration x-bench] [--pid-file FILE]
//!              [--phases intake,sustained,faults] [--fault NAME=URL ...] [--seconds 10]
//!              [--connections 32] [--step-seconds 20] [--max-rate 20000]
//!              [--max-connections 1024] [--drain-timeout 180] [--health-timeout 120]
//!              [--start-rate R | --ladder-from FILE] [--hold]
//! bench report --dir DIR [--commit C] [--bench-seconds S] [--store-sync MODE] [--note TEXT ...]
//! ```
//!
//! `host --hold` keeps the X send API stand-in up after the results are written, until standard
//! input closes: xtask stops the host first, so the stand-in outlives it. Several `--target`s
//! are several hosts on one store: the load goes to them in turn, request by request, and the
//! pid file names their processes one a line, in the same order.
//!
//! `report` reads `DIR/phases/`: `peers.json`, `host.json` (SQLite, an empty store; missing
//! under `--no-sqlite`), `scale.json` (SQLite, a million conversations) and `postgres-N.json`
//! (N hosts on PostgreSQL), whichever are there.

use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use anyhow::{Context, bail};
use hyper::Uri;
use switchboard_tests::bench::bodies::Signer;
use switchboard_tests::bench::closed::ClosedLoad;
use switchboard_tests::bench::phases::peers::{self, NodeRed, Peers};
use switchboard_tests::bench::phases::session::{self, HostSession, Plan};
use switchboard_tests::bench::procfs::Machine;
use switchboard_tests::bench::report::{self, Meta, Sessions, render};
use switchboard_tests::fixtures;

const USAGE: &str =
    "usage: bench peers|host|report [FLAGS]  (see the README's Performance section)";
const WARM_UP: Duration = Duration::from_secs(1);

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let command = args.next();
    let flags = match Flags::parse(args) {
        Ok(flags) => flags,
        Err(e) => {
            eprintln!("bench: {e:#}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let result = match command.as_deref() {
        Some("peers") => peers_command(flags).await,
        Some("host") => host_command(flags).await,
        Some("report") => report_command(flags),
        Some("-h" | "--help") | None => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some(other) => Err(anyhow::anyhow!("unknown command {other:?}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `--flag value` pairs (or `--flag=value`), and the switches that take no value.
struct Flags {
    pairs: Vec<(String, String)>,
    switches: Vec<String>,
}

const SWITCHES: &[&str] = &["--hold"];

impl Flags {
    fn parse(args: impl Iterator<Item = String>) -> anyhow::Result<Flags> {
        let mut flags = Flags {
            pairs: Vec::new(),
            switches: Vec::new(),
        };
        let mut args = args.peekable();
        while let Some(arg) = args.next() {
            if !arg.starts_with("--") {
                bail!("unexpected argument {arg:?}");
            }
            if SWITCHES.contains(&arg.as_str()) {
                flags.switches.push(arg);
            } else if let Some((flag, value)) = arg.split_once('=') {
                flags.pairs.push((flag.to_owned(), value.to_owned()));
            } else {
                let value = args
                    .next()
                    .with_context(|| format!("{arg} needs a value"))?;
                flags.pairs.push((arg, value));
            }
        }
        Ok(flags)
    }

    fn all(&mut self, flag: &str) -> Vec<String> {
        let (taken, kept) = std::mem::take(&mut self.pairs)
            .into_iter()
            .partition(|(f, _)| f == flag);
        self.pairs = kept;
        taken.into_iter().map(|(_, value)| value).collect()
    }

    fn opt(&mut self, flag: &str) -> anyhow::Result<Option<String>> {
        let mut values = self.all(flag);
        if values.len() > 1 {
            bail!("{flag} is given more than once");
        }
        Ok(values.pop())
    }

    fn req(&mut self, flag: &str) -> anyhow::Result<String> {
        self.opt(flag)?
            .with_context(|| format!("{flag} is required"))
    }

    fn parsed<T: FromStr>(&mut self, flag: &str) -> anyhow::Result<Option<T>>
    where
        T::Err: std::error::Error + Send + Sync + 'static,
    {
        self.opt(flag)?
            .map(|value| {
                value
                    .parse()
                    .with_context(|| format!("{flag} {value:?} is not valid"))
            })
            .transpose()
    }

    /// A positive number, or `default`.
    fn positive(&mut self, flag: &str, default: u64) -> anyhow::Result<u64> {
        match self.parsed::<u64>(flag)? {
            Some(0) => bail!("{flag} must be positive"),
            Some(n) => Ok(n),
            None => Ok(default),
        }
    }

    fn switch(&mut self, flag: &str) -> bool {
        let before = self.switches.len();
        self.switches.retain(|s| s != flag);
        self.switches.len() != before
    }

    /// Fails on any flag nobody asked for.
    fn finish(self) -> anyhow::Result<()> {
        if let Some((flag, _)) = self.pairs.first() {
            bail!("unexpected flag {flag}");
        }
        if let Some(switch) = self.switches.first() {
            bail!("unexpected flag {switch}");
        }
        Ok(())
    }
}

fn signer(flags: &mut Flags) -> anyhow::Result<Signer> {
    Ok(Signer {
        consumer_secret: flags.req("--consumer-secret")?,
        account_id: flags.req("--account-id")?,
    })
}

fn closed_load(flags: &mut Flags) -> anyhow::Result<ClosedLoad> {
    Ok(ClosedLoad {
        connections: usize::try_from(flags.positive("--connections", 32)?)?,
        warm_up: WARM_UP,
        measured: Duration::from_secs(flags.positive("--seconds", 10)?),
    })
}

async fn peers_command(mut flags: Flags) -> anyhow::Result<()> {
    let out = PathBuf::from(flags.req("--out")?);
    let signer = signer(&mut flags)?;
    let load = closed_load(&mut flags)?;
    let max_rate = flags.positive("--max-rate", 20_000)?;
    let node_red = match (
        flags.parsed::<Uri>("--node-red")?,
        flags.opt("--node-red-skipped")?,
    ) {
        (Some(url), None) => Ok(NodeRed {
            url,
            pid: flags.parsed("--node-red-pid")?,
        }),
        (None, Some(reason)) => Err(reason),
        (None, None) => Err("no --node-red given".to_owned()),
        (Some(_), Some(_)) => bail!("--node-red and --node-red-skipped exclude each other"),
    };
    flags.finish()?;
    let peers = peers::run(&signer, load, max_rate, node_red).await?;
    report::write_json(&out, &peers)
}

async fn host_command(mut flags: Flags) -> anyhow::Result<()> {
    let out = PathBuf::from(flags.req("--out")?);
    let phases = flags
        .opt("--phases")?
        .unwrap_or_else(|| "intake,sustained,faults".into());
    let phases: Vec<&str> = phases.split(',').map(str::trim).collect();
    if let Some(unknown) = phases
        .iter()
        .find(|p| !["intake", "sustained", "faults"].contains(p))
    {
        bail!("--phases: unknown phase {unknown:?} (intake, sustained, faults)");
    }
    let mut faults = Vec::new();
    for fault in flags.all("--fault") {
        let (name, url) = fault
            .split_once('=')
            .with_context(|| format!("--fault {fault:?} is not NAME=URL"))?;
        faults.push((name.to_owned(), url.parse::<Uri>()?));
    }
    if !phases.contains(&"faults") {
        faults.clear();
    }
    let start_rate = match (
        flags.parsed::<f64>("--start-rate")?,
        flags.opt("--ladder-from")?,
    ) {
        (Some(rate), None) => Some(rate),
        (None, Some(file)) => Some(ladder_start(Path::new(&file))?),
        (None, None) => None,
        (Some(_), Some(_)) => bail!("--start-rate and --ladder-from exclude each other"),
    };
    let webhooks = flags
        .all("--target")
        .iter()
        .map(|url| url.parse::<Uri>())
        .collect::<Result<Vec<_>, _>>()
        .context("--target is not a URL")?;
    if webhooks.is_empty() {
        bail!("--target is required");
    }
    let store = flags.opt("--store")?.unwrap_or_else(|| "sqlite".into());
    if !["sqlite", "postgres"].contains(&store.as_str()) {
        bail!("--store {store:?}: sqlite or postgres");
    }
    let plan = Plan {
        label: flags.opt("--label")?.unwrap_or_else(|| "empty".into()),
        store,
        webhooks,
        integration: flags
            .opt("--integration")?
            .unwrap_or_else(|| "x-bench".into()),
        signer: signer(&mut flags)?,
        x_api_listen: flags
            .parsed::<SocketAddr>("--x-api-listen")?
            .context("--x-api-listen is required")?,
        access_token: flags.req("--access-token")?,
        pid_file: flags.opt("--pid-file")?.map(PathBuf::from),
        health_timeout: Duration::from_secs(flags.positive("--health-timeout", 120)?),
        intake: phases.contains(&"intake"),
        sustained: phases.contains(&"sustained"),
        faults,
        closed: closed_load(&mut flags)?,
        step: Duration::from_secs(flags.positive("--step-seconds", 20)?),
        max_rate: flags.positive("--max-rate", 20_000)?,
        max_connections: usize::try_from(flags.positive("--max-connections", 1024)?)?,
        drain_timeout: Duration::from_secs(flags.positive("--drain-timeout", 180)?),
        start_rate,
    };
    let hold = flags.switch("--hold");
    flags.finish()?;
    if !plan.x_api_listen.ip().is_loopback() {
        bail!("--x-api-listen must be a loopback address");
    }
    let session = session::run(plan).await?;
    report::write_json(&out, &session)?;
    println!("bench: wrote {}", out.display());
    if hold {
        println!("bench: the X send API stand-in stays up until standard input closes");
        tokio::task::spawn_blocking(|| {
            let mut sink = [0u8; 256];
            let mut stdin = std::io::stdin();
            while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
        })
        .await?;
    }
    Ok(())
}

/// The first rate of the ladder another session used (so both climb the same steps).
fn ladder_start(file: &Path) -> anyhow::Result<f64> {
    let session: HostSession = report::read_json(file)?;
    session
        .sustained
        .map(|s| s.start_rate)
        .with_context(|| format!("{} has no sustained phase", file.display()))
}

fn report_command(mut flags: Flags) -> anyhow::Result<()> {
    let dir = PathBuf::from(flags.req("--dir")?);
    let meta = Meta {
        date: fixtures::rfc3339_utc(SystemTime::now()),
        commit: flags.opt("--commit")?,
        machine: Machine::read(),
        bench_seconds: flags.parsed("--bench-seconds")?,
        store_sync: flags.opt("--store-sync")?,
        notes: flags.all("--note"),
    };
    flags.finish()?;
    let phases = dir.join("phases");
    let peers: Peers = report::read_json(&phases.join("peers.json"))?;
    let optional = |name: &str| -> anyhow::Result<Option<HostSession>> {
        let file = phases.join(name);
        if file.exists() {
            Ok(Some(report::read_json(&file)?))
        } else {
            Ok(None)
        }
    };
    let host = optional("host.json")?.unwrap_or_else(|| HostSession {
        label: "empty".into(),
        store: "sqlite".into(),
        ..HostSession::default()
    });
    let scale = optional("scale.json")?;
    let mut postgres = Vec::new();
    for entry in
        std::fs::read_dir(&phases).with_context(|| format!("listing {}", phases.display()))?
    {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.starts_with("postgres-") && name.ends_with(".json") {
            postgres.extend(optional(&name)?);
        }
    }
    postgres.sort_by_key(HostSession::host_count);
    let sessions = Sessions {
        host,
        scale,
        postgres,
    };
    let report = report::build(meta, peers, sessions);
    let markdown = render::markdown(&report);
    report::write_json(&dir.join("report.json"), &report)?;
    std::fs::write(dir.join("report.md"), &markdown)
        .with_context(|| format!("writing {}", dir.join("report.md").display()))?;
    println!("{markdown}");
    println!(
        "bench: wrote {} and {}",
        dir.join("report.json").display(),
        dir.join("report.md").display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(args: &[&str]) -> anyhow::Result<Flags> {
        Flags::parse(args.iter().map(|arg| arg.to_string()))
    }

    #[test]
    fn flags_take_values_switches_and_repeats() {
        let mut f = flags(&[
            "--seconds=3",
            "--hold",
            "--fault",
            "trap=http://127.0.0.1:1/w",
            "--fault",
            "spin=http://127.0.0.1:1/v",
        ])
        .unwrap();
        assert_eq!(f.positive("--seconds", 10).unwrap(), 3);
        assert_eq!(f.positive("--connections", 32).unwrap(), 32);
        assert_eq!(f.all("--fault").len(), 2);
        assert!(f.switch("--hold"));
        f.finish().unwrap();

        let mut zero = flags(&["--seconds", "0"]).unwrap();
        assert!(zero.positive("--seconds", 10).is_err());
        assert!(flags(&["--seconds"]).is_err());
        assert!(flags(&["stray"]).is_err());
        let mut twice = flags(&["--out", "a", "--out", "b"]).unwrap();
        assert!(twice.opt("--out").is_err());
        assert!(flags(&["--rate", "1"]).unwrap().finish().is_err());
    }
}
