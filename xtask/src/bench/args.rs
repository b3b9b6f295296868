//! `cargo xtask bench` flags, and the checks that say at once which combination makes no sense.

use anyhow::{Context, bail};

const USAGE: &str = "usage: bench [--seconds N] [--connections N] [--step-seconds N] \
                     [--scale | --no-scale] [--store sqlite|postgres] [--hosts N] [--no-sqlite]";

/// The most hosts `--hosts` starts (each is a release host with its own connections to the
/// bench's PostgreSQL).
pub const MAX_HOSTS: u16 = 16;

/// Which store the bench measures the host on, besides SQLite's figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    /// The embedded SQLite store only (the default).
    Sqlite,
    /// SQLite and then PostgreSQL: one host, and `--hosts N` sharing one database.
    Postgres,
}

/// `cargo xtask bench` flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    /// Measured seconds of each closed-loop run (after a 1 s warm-up).
    pub seconds: u64,
    pub connections: u64,
    /// Seconds of each open-loop rate step.
    pub step_seconds: u64,
    /// Also run the sustained phase on a million stored conversations (default; `--no-scale`
    /// skips it).
    pub scale: bool,
    pub store: Store,
    /// Hosts of the several-hosts PostgreSQL session (1: only the one-host session).
    pub hosts: u16,
    /// Run the SQLite sessions (default; `--no-sqlite`, only with `--store postgres`, skips
    /// them, and with them the scale session, which is SQLite's).
    pub sqlite: bool,
}

impl Default for Args {
    fn default() -> Args {
        Args {
            seconds: 10,
            connections: 32,
            step_seconds: 20,
            scale: true,
            store: Store::Sqlite,
            hosts: 1,
            sqlite: true,
        }
    }
}

impl Args {
    pub fn parse(args: &[String]) -> anyhow::Result<Args> {
        let mut parsed = Args::default();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--scale" | "--no-scale" => {
                    parsed.scale = arg == "--scale";
                    continue;
                }
                "--no-sqlite" => {
                    parsed.sqlite = false;
                    continue;
                }
                _ => {}
            }
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_owned())),
                _ => (arg.as_str(), None),
            };
            if ![
                "--seconds",
                "--connections",
                "--step-seconds",
                "--store",
                "--hosts",
            ]
            .contains(&flag)
            {
                bail!("bench: unexpected argument {flag:?} ({USAGE})");
            }
            let value = match inline {
                Some(value) => value,
                None => args
                    .next()
                    .with_context(|| format!("{flag} needs a value ({USAGE})"))?
                    .clone(),
            };
            match flag {
                "--store" => {
                    parsed.store = match value.as_str() {
                        "sqlite" => Store::Sqlite,
                        "postgres" | "postgresql" => Store::Postgres,
                        _ => bail!("--store {value:?}: sqlite or postgres"),
                    }
                }
                "--hosts" => {
                    parsed.hosts = value
                        .parse()
                        .ok()
                        .filter(|n| (1..=MAX_HOSTS).contains(n))
                        .with_context(|| {
                            format!("--hosts {value:?}: a number from 1 to {MAX_HOSTS}")
                        })?;
                }
                _ => {
                    let n = match value.parse::<u64>() {
                        Ok(n) if n > 0 => n,
                        _ => bail!("{flag} must be a positive whole number, not {value:?}"),
                    };
                    match flag {
                        "--seconds" => parsed.seconds = n,
                        "--connections" => parsed.connections = n,
                        _ => parsed.step_seconds = n,
                    }
                }
            }
        }
        if parsed.store == Store::Sqlite {
            if parsed.hosts > 1 {
                bail!(
                    "bench: --hosts {} needs --store postgres: several hosts share a store only \
                     on PostgreSQL (a SQLite file belongs to one host)",
                    parsed.hosts
                );
            }
            if !parsed.sqlite {
                bail!("bench: --no-sqlite needs --store postgres, or nothing is left to measure");
            }
        }
        // The scale session runs on a SQLite file and climbs the SQLite session's ladder.
        parsed.scale &= parsed.sqlite;
        Ok(parsed)
    }

    /// The PostgreSQL sessions, by number of hosts: `[1]`, or `[1, N]` with `--hosts N`.
    pub fn postgres_sessions(&self) -> Vec<u16> {
        match (self.store, self.hosts) {
            (Store::Sqlite, _) => Vec::new(),
            (Store::Postgres, 1) => vec![1],
            (Store::Postgres, n) => vec![1, n],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> anyhow::Result<Args> {
        Args::parse(&args.iter().map(|a| a.to_string()).collect::<Vec<_>>())
    }

    fn error(args: &[&str]) -> String {
        format!("{:#}", parse(args).unwrap_err())
    }

    #[test]
    fn bench_args_have_defaults_and_check_numbers() {
        let args = parse(&[]).unwrap();
        assert_eq!(
            args,
            Args {
                seconds: 10,
                connections: 32,
                step_seconds: 20,
                scale: true,
                store: Store::Sqlite,
                hosts: 1,
                sqlite: true,
            }
        );
        assert!(args.postgres_sessions().is_empty());
        let args = parse(&[
            "--seconds",
            "3",
            "--connections=8",
            "--no-scale",
            "--step-seconds=5",
        ])
        .unwrap();
        assert_eq!(
            (
                args.seconds,
                args.connections,
                args.step_seconds,
                args.scale
            ),
            (3, 8, 5, false)
        );
        assert!(parse(&["--no-scale", "--scale"]).unwrap().scale);
        assert!(parse(&["--seconds", "0"]).is_err());
        assert!(parse(&["--seconds"]).is_err());
        assert!(parse(&["--rate", "1"]).is_err());
    }

    #[test]
    fn postgres_runs_one_host_then_n_beside_sqlite() {
        let args = parse(&["--store", "postgres", "--hosts", "3"]).unwrap();
        assert_eq!(
            (args.store, args.hosts, args.sqlite),
            (Store::Postgres, 3, true)
        );
        assert_eq!(args.postgres_sessions(), [1, 3]);
        assert_eq!(
            parse(&["--store=postgres"]).unwrap().postgres_sessions(),
            [1]
        );
        let args = parse(&["--hosts=2", "--store", "postgres", "--no-sqlite"]).unwrap();
        assert_eq!((args.sqlite, args.scale), (false, false));
        assert_eq!(
            parse(&["--store", "sqlite", "--hosts", "1"]).unwrap().hosts,
            1
        );
    }

    #[test]
    fn combinations_without_meaning_are_refused_with_the_reason() {
        assert!(error(&["--hosts", "2"]).contains("--hosts 2 needs --store postgres"));
        assert!(error(&["--store", "sqlite", "--hosts", "4"]).contains("needs --store postgres"));
        assert!(error(&["--no-sqlite"]).contains("--no-sqlite needs --store postgres"));
        assert!(error(&["--store", "mysql"]).contains("sqlite or postgres"));
        assert!(error(&["--store", "postgres", "--hosts", "0"]).contains("from 1 to 16"));
        assert!(error(&["--store", "postgres", "--hosts", "17"]).contains("from 1 to 16"));
        assert!(error(&["--store"]).contains("--store needs a value"));
    }
}
