//! Host A cut off from the database while it holds customer leases: it runs in a network
//! namespace of its own, joined to this one by a veth pair, and the test drops the link under
//! load (in a round written to A while B and C are paused, so that A has work in hand; they
//! go on right after the cut). The other hosts take over its customers (once its leases run out) and its sends (once
//! its claims do); every acknowledged message is answered, in order, and no reply is sent twice
//! except one whose request had reached the platform at the instant of the cut (its result
//! could not be recorded: delivery is at least once). Then the link comes back: A, whose
//! leases and claims are stale, sends nothing twice, and serves again: once B and C stop, it
//! alone answers one more round.
//!
//! Needs root and `ip` (iproute2); without them the test says why and skips.

use std::collections::HashMap;
use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use switchboard::store::postgres::testing::TestServer;
use switchboard_tests::fixtures::{UniqueIds, XDm, unix_millis};
use switchboard_tests::harness::{
    Cluster, HostProcess, TempDir, TestConfig, eventually, free_port, sim_config,
};
use switchboard_tests::sim::{Delivered, PlatformSim, SimConfig};

const CUSTOMERS: usize = 20;
/// Rounds (one message from each customer) through the three hosts before the cut may come.
const ROUNDS_BEFORE: usize = 3;
/// The last round the cut may come in: by then A must have held a lease at some instant.
const LAST_CUT_ROUND: usize = 40;
/// Rounds through B and C while A is cut off.
const ROUNDS_CUT: usize = 5;
/// A send's claim: the test config's `[outbound] timeout_ms` and the sender's 30 s margin.
const CLAIM: Duration = Duration::from_secs(40);
/// How long before the cut a copy A sent may have reached the platform and still not been
/// recorded when the link went down (the recording transaction is one round trip away).
const RECORD_WINDOW: Duration = Duration::from_secs(5);

/// A network namespace joined to this one by a veth pair, deleted when dropped.
struct Partition {
    namespace: String,
    /// The end in this namespace (the other moves into the namespace).
    device: String,
    outside: Ipv4Addr,
    inside: Ipv4Addr,
}

fn ip(args: &[&str]) -> Result<(), String> {
    let output = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run `ip` (iproute2): {e}"))?;
    match output.status.success() {
        true => Ok(()),
        false => Err(format!(
            "`ip {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        )),
    }
}

impl Partition {
    /// The namespace and the link, named after this process; `Err` says why they cannot be
    /// made here.
    fn create() -> Result<Partition, String> {
        let uid = Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .map_err(|e| format!("cannot run `id -u`: {e}"))?;
        if uid != "0" {
            return Err(format!(
                "it must run as root to create a network namespace (uid {uid})"
            ));
        }
        ip(&["-V"])?;
        let pid = std::process::id();
        // A /30 of 10.213.0.0/16 of this process's own.
        let slot = pid % 16384;
        let (third, fourth) = ((slot / 64) as u8, ((slot % 64) * 4) as u8);
        let partition = Partition {
            namespace: format!("sb-partition-{pid}"),
            device: format!("sbp{pid}"),
            outside: Ipv4Addr::new(10, 213, third, fourth + 1),
            inside: Ipv4Addr::new(10, 213, third, fourth + 2),
        };
        let inner = format!("sbq{pid}");
        let (ns, dev) = (partition.namespace.as_str(), partition.device.as_str());
        ip(&["netns", "add", ns])?;
        ip(&["link", "add", dev, "type", "veth", "peer", "name", &inner])?;
        ip(&["link", "set", &inner, "netns", ns])?;
        ip(&[
            "addr",
            "add",
            &format!("{}/30", partition.outside),
            "dev",
            dev,
        ])?;
        ip(&["link", "set", dev, "up"])?;
        ip(&[
            "-n",
            ns,
            "addr",
            "add",
            &format!("{}/30", partition.inside),
            "dev",
            &inner,
        ])?;
        ip(&["-n", ns, "link", "set", &inner, "up"])?;
        ip(&["-n", ns, "link", "set", "lo", "up"])?;
        Ok(partition)
    }

    /// Drops the link: nothing passes between the namespaces any more.
    fn cut(&self) {
        ip(&["link", "set", &self.device, "down"]).unwrap_or_else(|e| panic!("{e}"));
    }

    fn heal(&self) {
        ip(&["link", "set", &self.device, "up"]).unwrap_or_else(|e| panic!("{e}"));
    }
}

impl Drop for Partition {
    fn drop(&mut self) {
        // Deleting one end deletes the pair; the namespace goes once its host is gone.
        let _ = ip(&["link", "del", &self.device]);
        if let Err(e) = ip(&["netns", "del", &self.namespace]) {
            eprintln!("cannot delete network namespace {}: {e}", self.namespace);
        }
    }
}

/// Says, past the test harness's capture, that the test did not run and why.
fn skip(reason: &str) {
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED scale_out partition test: {reason}; it needs root and iproute2 (`apt-get install -y iproute2`)"
    );
}

/// When the cut began and ended (the `ip` command's run), how many leases A held then, and
/// when the last of them runs out (ms since the epoch).
type Cut = (SystemTime, SystemTime, Instant, i64, i64);

/// Looks at the customer leases A holds, on a connection of the test's own (a query takes a
/// fraction of a millisecond: it can look often).
struct LeaseWatch {
    client: tokio_postgres::Client,
    holder: String,
}

impl LeaseWatch {
    async fn connect(url: &str, holder: &str) -> LeaseWatch {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("the test's own connection to {url}: {e}"));
        tokio::spawn(connection);
        LeaseWatch {
            client,
            holder: holder.to_string(),
        }
    }

    /// How many leases A holds, and when the last of them runs out.
    async fn held(&self) -> (i64, i64) {
        let row = self
            .client
            .query_one(
                "SELECT COUNT(*), COALESCE(MAX(until), 0) FROM customer_leases WHERE holder = $1",
                &[&self.holder],
            )
            .await
            .unwrap_or_else(|e| panic!("counting host A's leases: {e}"));
        (row.get(0), row.get(1))
    }

    /// Drops the link when A is seen holding a customer lease, and keeps it down if A still
    /// holds one once it is down (it may have given the one seen back in between: then the
    /// link comes straight back, a blip A's connections ride out, and this says `None`).
    /// Looking first keeps the blips few: each one can cost A's connections a retransmission,
    /// and blipping at every look kept A so far behind the other hosts that it held nothing.
    async fn try_cut(&self, partition: &Partition, blips: &mut usize) -> Option<Cut> {
        if self.held().await.0 == 0 {
            return None;
        }
        let began = SystemTime::now();
        partition.cut();
        let ended = SystemTime::now();
        let at = Instant::now();
        // Leases are given back only by their holder: what A holds now, it held at the cut.
        match self.held().await {
            (0, _) => {
                partition.heal();
                *blips += 1;
                None
            }
            (leases, until) => Some((began, ended, at, leases, until)),
        }
    }
}

/// Whether host A (which reaches the simulator at `a_sim`) sent `delivered`.
fn from_a(delivered: &Delivered, a_sim: &str) -> bool {
    delivered
        .headers
        .get("host")
        .is_some_and(|h| h.as_bytes() == a_sim.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_host_cut_off_from_the_database_stops_and_the_others_take_over() {
    let partition = match Partition::create() {
        Ok(partition) => partition,
        Err(reason) => return skip(&reason),
    };
    // A PostgreSQL of this test's own, listening where A reaches it too.
    let server: &'static TestServer = Box::leak(Box::new(
        TestServer::start_reachable(partition.outside, partition.inside)
            .unwrap_or_else(|e| panic!("{e:#}")),
    ));
    let url = server.database().unwrap_or_else(|e| panic!("{e:#}"));
    let url_for_a = url.replace("127.0.0.1", &partition.outside.to_string());
    assert_ne!(url, url_for_a);
    // The simulator on every address: B and C reach it on loopback, A on its side of the link
    // (so the `Host` of a request says which side sent it).
    let sim = PlatformSim::start(SimConfig {
        listen: SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
        ..sim_config()
    })
    .await
    .expect("starting the platform simulator");
    let port = sim.addr().port();
    let a_sim = format!("{}:{port}", partition.outside);
    let mut hosts = Vec::new();
    for i in 0..3 {
        let dir = TempDir::new(&format!("scale-partition-{i}"));
        let sim_url = match i {
            0 => format!("http://{a_sim}"),
            _ => format!("http://127.0.0.1:{port}"),
        };
        let mut config = TestConfig::new(&dir, &sim_url);
        config.use_test_flows();
        config.x_flow = "echo".into();
        let host = match i {
            0 => {
                config.listen = SocketAddr::from((partition.inside, free_port()));
                config.store_url = Some(url_for_a.clone());
                let wrapper = ["ip", "netns", "exec", partition.namespace.as_str()];
                HostProcess::start_wrapped(dir, &config.render(), &[], &wrapper).await
            }
            _ => {
                config.store_url = Some(url.clone());
                HostProcess::start(dir, &config.render()).await
            }
        };
        hosts.push(host);
    }
    hosts[0]
        .wait_for_log("host A's lease holder", "customer leases as ")
        .await;
    let holder_a = {
        let log = std::fs::read_to_string(hosts[0].log_path()).expect("host A's log");
        let at = log.find("customer leases as ").expect("the holder line") + 19;
        log[at..]
            .split_whitespace()
            .next()
            .expect("a holder")
            .to_string()
    };
    let apis = hosts.iter().map(HostProcess::api).collect();
    let mut cluster = Cluster {
        sim,
        hosts,
        apis,
        ids: UniqueIds::new(),
    };

    let customers: Vec<String> = (0..CUSTOMERS)
        .map(|i| format!("1970000000000{i:06}"))
        .collect();
    let mut acknowledged: HashMap<String, Vec<String>> = HashMap::new();
    let mut cut: Option<Cut> = None;
    let watch_a = LeaseWatch::connect(&url, &holder_a).await;
    let mut blips = 0;
    let mut round = 0;
    let mut rounds_cut = 0;
    let mut redelivered = 0;
    while rounds_cut < ROUNDS_CUT {
        assert!(
            cut.is_some() || round <= LAST_CUT_ROUND,
            "host A was not found holding a customer lease in {round} rounds ({blips} blip(s) \
             where it gave back the one seen before the link was down)"
        );
        // From round ROUNDS_BEFORE on, until the cut, a round goes to A alone while B and C
        // are paused, once everything before it is answered: A claims the round's work and
        // holds its customers' leases while it does it (with B and C running, they took the
        // work of A's webhooks as often as not, and A could go tens of rounds holding none).
        let watch_round = cut.is_none() && round >= ROUNDS_BEFORE;
        if watch_round {
            cluster
                .all_echoed(
                    &acknowledged,
                    "every acknowledged message answered before the watched round",
                    Duration::from_secs(60),
                )
                .await;
            cluster.hosts[1].pause();
            cluster.hosts[2].pause();
        }
        let targets: Vec<usize> = match cut {
            None if watch_round => vec![0],
            None => vec![0, 1, 2],
            Some(_) => vec![1, 2],
        };
        let cluster = &cluster;
        let sends = customers.iter().enumerate().map(|(i, customer)| {
            let dm = cluster.dm(customer, &format!("r{round}"));
            let host = targets[(i + round) % targets.len()];
            async move {
                let status = cluster.send_dm_to(host, &dm).await;
                (customer.clone(), dm, host, status)
            }
        });
        let sends = futures_util::future::join_all(sends);
        tokio::pin!(sends);
        // In a watched round the test looks every few milliseconds while the webhooks are in
        // flight and a little after, and the link drops the first time A is found holding a
        // lease (A's work is done in milliseconds: the looks must be frequent and cheap).
        let results = loop {
            let watch = cut.is_none() && watch_round;
            tokio::select! {
                results = &mut sends => break results,
                _ = tokio::time::sleep(Duration::from_millis(2)), if watch => {
                    cut = watch_a.try_cut(&partition, &mut blips).await;
                }
            }
        };
        if watch_round {
            let deadline = Instant::now() + Duration::from_millis(500);
            while cut.is_none() && Instant::now() < deadline {
                cut = watch_a.try_cut(&partition, &mut blips).await;
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            cluster.hosts[1].resume();
            cluster.hosts[2].resume();
        }
        for (customer, dm, host, status) in results {
            let status = match (status, host) {
                (200, _) => 200,
                // A webhook A did not answer well (cut off): the platform delivers it again,
                // to a host the load balancer finds alive.
                (_, 0) => {
                    redelivered += 1;
                    cluster.send_dm_to(1, &dm).await
                }
                (status, _) => status,
            };
            assert_eq!(status, 200, "{customer} {} to host {host}", dm.text);
            acknowledged
                .entry(customer)
                .or_default()
                .push(dm.text.clone());
        }
        if cut.is_some() {
            rounds_cut += 1;
        }
        round += 1;
    }
    let (cut_began, cut_ended, cut_at, leases_at_cut, leases_until) =
        cut.expect("the link was cut");

    // B and C answer everything: A's customers once its leases run out, the sends it had
    // claimed once its claims do.
    cluster
        .all_echoed(
            &acknowledged,
            "every acknowledged message answered while A is cut off",
            Duration::from_secs(240),
        )
        .await;
    let taken_over_after = cut_at.elapsed();
    let answered_at = unix_millis(SystemTime::now()) as i64;
    // A's claims have all run out by now, whatever it still believes it holds.
    let wait = (CLAIM + Duration::from_secs(5)).saturating_sub(cut_at.elapsed());
    tokio::time::sleep(wait).await;

    // The link comes back: A's stale leases and claims must not make it send anything twice,
    // and it serves again.
    let healed_at = SystemTime::now();
    partition.heal();
    for customer in &customers {
        let text = format!("r{round}");
        // A platform retries a webhook until a 2xx; the same event each time.
        let dm: XDm = cluster.dm(customer, &text);
        eventually(
            "host A acknowledging webhooks again after the link came back",
            Duration::from_secs(120),
            || async {
                match cluster.send_dm_to(0, &dm).await {
                    200 => Ok(()),
                    status => Err(format!("answered {status}")),
                }
            },
        )
        .await;
        acknowledged
            .get_mut(customer)
            .expect("the customer wrote before")
            .push(text);
    }
    cluster
        .all_echoed(
            &acknowledged,
            "every acknowledged message answered after the link came back",
            Duration::from_secs(180),
        )
        .await;
    // A serves again on its own: B and C stop (as a deploy stops them), and one more round
    // written to A is answered, all of it by A.
    for host in &mut cluster.hosts[1..] {
        host.terminate(Duration::from_secs(60))
            .await
            .unwrap_or_else(|e| panic!("stopping host B or C: {e:#}"));
    }
    round += 1;
    let last_round = format!("r{round}");
    for customer in &customers {
        let dm: XDm = cluster.dm(customer, &last_round);
        assert_eq!(
            cluster.send_dm_to(0, &dm).await,
            200,
            "{customer} {last_round} to A"
        );
        acknowledged
            .get_mut(customer)
            .expect("the customer wrote before")
            .push(last_round.clone());
    }
    cluster
        .all_echoed(
            &acknowledged,
            "host A alone answering the last round",
            Duration::from_secs(180),
        )
        .await;
    // Time for anything stale A still had in hand to come out.
    tokio::time::sleep(Duration::from_secs(5)).await;

    let cut_window = (cut_began - RECORD_WINDOW)..=(cut_ended + Duration::from_secs(1));
    let mut duplicated = Vec::new();
    let mut a_sent_while_cut = Vec::new();
    let mut a_sent_after_heal = 0;
    let mut not_from_a_at_the_end = Vec::new();
    for customer in &customers {
        let delivered = cluster.delivered_to(customer);
        let mut first: HashMap<String, &Delivered> = HashMap::new();
        let mut once = Vec::new();
        for d in &delivered {
            let text = d.text.clone().unwrap_or_default();
            if from_a(d, &a_sim) {
                if d.received_at > cut_ended + Duration::from_secs(1) && d.received_at < healed_at {
                    a_sent_while_cut.push(format!("{customer}/{text}"));
                }
                if d.received_at >= healed_at {
                    a_sent_after_heal += 1;
                }
            } else if d.text.as_deref() == Some(format!("echo: {last_round}").as_str()) {
                not_from_a_at_the_end.push(format!("{customer}/{text}"));
            }
            match first.get(&text) {
                None => {
                    first.insert(text.clone(), d);
                    once.push(text);
                }
                Some(earlier) => duplicated.push((
                    format!("{customer}/{text}"),
                    from_a(earlier, &a_sim),
                    cut_window.contains(&earlier.received_at),
                    from_a(d, &a_sim),
                )),
            }
        }
        let wanted: Vec<String> = acknowledged[customer]
            .iter()
            .map(|t| format!("echo: {t}"))
            .collect();
        assert_eq!(once, wanted, "{customer}'s replies, in order");
    }
    let acknowledged_total: usize = acknowledged.values().map(Vec::len).sum();
    let stored_twice = server
        .psql(
            &url,
            "SELECT conversation, text FROM messages WHERE direction = 'outbound'
             GROUP BY conversation, text HAVING COUNT(*) > 1",
        )
        .unwrap_or_else(|e| panic!("{e:#}"));
    println!(
        "host A cut off with {leases_at_cut} customer lease(s) (after {blips} blip(s) where it gave \
         back the one seen before the link was down): {acknowledged_total} acknowledged ({redelivered} redelivered to B after A did \
         not answer), 0 lost, {} sent twice {:?}, \
         all answered {taken_over_after:?} after the cut; after the link came back A sent \
         {a_sent_after_heal} reply(ies) (the last round's {CUSTOMERS} alone), none twice",
        duplicated.len(),
        duplicated
    );
    assert_eq!(stored_twice, "", "replies stored twice");
    assert!(
        a_sent_while_cut.is_empty(),
        "host A sent while cut off: {a_sent_while_cut:?}"
    );
    // A reply goes out twice only when A's copy reached the platform at the cut and its result
    // could not be recorded: never a send A made under a claim it had lost.
    let unexplained: Vec<_> = duplicated
        .iter()
        .filter(|(_, first_from_a, at_cut, again_from_a)| {
            !(*first_from_a && *at_cut && !*again_from_a)
        })
        .collect();
    assert!(
        unexplained.is_empty(),
        "replies sent twice, not because A was cut off mid-send: {unexplained:?}"
    );
    assert!(
        not_from_a_at_the_end.is_empty(),
        "replies to the round written once B and C had stopped, sent by another host: \
         {not_from_a_at_the_end:?}"
    );
    // Every customer wrote during the cut, those A held a lease on too: their messages waited
    // for A's leases to run out (nobody took them over early).
    assert!(
        answered_at >= leases_until,
        "all answered at {answered_at} ms, before A's last lease ran out at {leases_until} ms"
    );
}
