//! The bench host's configuration: one X integration running the demo `support` flow, whose
//! `api_base` is the driver's X send API stand-in, plus one integration per fault fixture; the
//! store a SQLite file or a PostgreSQL database (which several hosts share).

use std::net::SocketAddr;
use std::path::Path;

use crate::{Workspace, toml_string};

/// Fake credentials of the bench integration; they only have to match between host and bench.
pub const BENCH_INTEGRATION: &str = "x-bench";
pub const BENCH_CONSUMER_SECRET: &str = "bench-consumer-secret-not-real";
pub const BENCH_ACCESS_TOKEN: &str = "bench-access-token-not-real";
pub const BENCH_ACCOUNT_ID: &str = "1500000000000000001";

/// The store's durability in the bench: a commit survives a crash of the host, not a power
/// loss of the machine (the default, `full`, also survives that). The report says which.
pub const BENCH_STORE_SYNC: &str = "normal";

/// Fault-fixture adapters the bench calls beside the X load, each on an integration of its own
/// (`{kind}-fixture`), to measure fault isolation.
pub const BENCH_FAULTS: [&str; 4] = ["trap", "spin", "hog", "flood"];

/// Queues and agents of the bench config, the same as the demo's `switchboard.toml`. Nobody
/// logs in as Alice, so conversations transferred to a queue wait there.
const BENCH_QUEUES_AND_AGENTS: &str = r#"
[[queue]]
id = "support"
name = "Support"

[[queue]]
id = "billing"
name = "Billing"

[[agent]]
id = "alice"
name = "Alice"
token = "demo-agent-alice"
queues = ["support", "billing"]
"#;

/// Where a bench host stores.
#[derive(Debug, Clone, Copy)]
pub enum Store<'a> {
    /// A SQLite file, synced as [`BENCH_STORE_SYNC`] says.
    Sqlite(&'a Path),
    /// A PostgreSQL URL, with the host's default pool; PostgreSQL's own durability settings
    /// (its defaults: every commit flushed).
    Postgres(&'a str),
}

impl Store<'_> {
    /// The keys of `[store]`.
    fn table(&self) -> String {
        match self {
            Store::Sqlite(path) => format!(
                "path = {}
sync = \"{BENCH_STORE_SYNC}\"",
                toml_string(path)
            ),
            // The bench's own URL: no quote or backslash to escape.
            Store::Postgres(url) => format!("url = \"{url}\""),
        }
    }
}

/// The config of a bench host storing in `store`, listening on `host` and sending X replies to
/// `x_api`; everything absolute, so it runs from any folder.
pub fn host_config(
    ws: &Workspace,
    plugins: &Path,
    store: Store,
    host: SocketAddr,
    x_api: SocketAddr,
) -> String {
    let cache = ws.target.join("plugin-cache");
    let flows = ws.root.join("flows");
    format!(
        r#"# Written by `cargo xtask bench`; fake credentials, for the load run only.
[server]
listen = "{host}"

[store]
{store}

[plugins]
dir = {plugins}
cache_dir = {cache}

[flows]
dir = {flows}

[[integration]]
id = "{BENCH_INTEGRATION}"
adapter = "x"
flow = "support"
# The bench measures the host, not X's documented 200 DMs per 15 minutes.
send_limits = []
[integration.settings]
consumer_secret = "{BENCH_CONSUMER_SECRET}"
access_token = "{BENCH_ACCESS_TOKEN}"
account_id = "{BENCH_ACCOUNT_ID}"
api_base = "http://{x_api}"
{faults}{BENCH_QUEUES_AND_AGENTS}"#,
        store = store.table(),
        plugins = toml_string(plugins),
        cache = toml_string(&cache),
        flows = toml_string(&flows),
        faults = BENCH_FAULTS
            .iter()
            .map(|kind| format!(
                "\n[[integration]]\nid = \"{kind}-fixture\"\nadapter = \"fixtures/{kind}\"\nflow = \"support\"\n"
            ))
            .collect::<String>(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_x_integration_sends_to_the_stand_in() {
        let ws = Workspace::locate().unwrap();
        let text = host_config(
            &ws,
            Path::new("/p"),
            Store::Sqlite(Path::new("/s/switchboard.db")),
            "127.0.0.1:1".parse().unwrap(),
            "127.0.0.1:2".parse().unwrap(),
        );
        assert!(text.contains("listen = \"127.0.0.1:1\""));
        assert!(text.contains("api_base = \"http://127.0.0.1:2\""));
        assert!(text.contains("[store]\npath = \"/s/switchboard.db\"\nsync = \"normal\"\n"));
        assert_eq!(text.matches("[[integration]]").count(), 5);
    }

    #[test]
    fn hosts_on_postgres_share_its_url_and_the_stand_in() {
        let ws = Workspace::locate().unwrap();
        let url = "postgres://postgres@127.0.0.1:5/bench_2_hosts";
        let configs: Vec<String> = [3, 4]
            .iter()
            .map(|port| {
                host_config(
                    &ws,
                    Path::new("/p"),
                    Store::Postgres(url),
                    format!("127.0.0.1:{port}").parse().unwrap(),
                    "127.0.0.1:2".parse().unwrap(),
                )
            })
            .collect();
        for text in &configs {
            assert!(text.contains(&format!("[store]\nurl = \"{url}\"\n\n")));
            assert!(!text.contains("sync ="));
            assert!(text.contains("api_base = \"http://127.0.0.1:2\""));
        }
        assert!(configs[1].contains("listen = \"127.0.0.1:4\""));
    }
}
