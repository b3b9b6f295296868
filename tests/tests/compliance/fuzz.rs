//! Generated webhooks at volume through every adapter's real Wasm component: mutations of its
//! fixtures (bytes flipped, inserted, deleted, truncated, spliced from another fixture, invalid
//! UTF-8, JSON punctuation), random bytes, deep nesting and huge strings, each signed with the
//! integration's secret so that it reaches the parser, and some signed over another body.
//!
//! Every input must get an answer (events, nothing, or a typed refusal), never a plugin failure
//! (trap, memory, a timeout: 5 s here, so that a busy machine does not count); a body signed
//! over another body must be refused as unauthorized.
//! The outcomes are counted and printed per adapter.
//!
//! Seeded: `SWITCHBOARD_FUZZ_SEED` (default 1) and `SWITCHBOARD_FUZZ_COUNT` inputs per adapter
//! (default 300 in the suite; run e.g. `SWITCHBOARD_FUZZ_COUNT=10000 cargo xtask test -p
//! switchboard-tests --test compliance fuzz -- --nocapture` for a long run). A failure names the
//! seed and the input's number, which replay it.

use std::collections::BTreeMap;

use switchboard::runtime::{AdapterError, WebhookRequest};

use switchboard::config::PluginsConfig;
use switchboard::runtime::PluginRuntime;

use switchboard_tests::fuzz::Rng;

use super::{Profile, load, profile_name, profiles, secret, workspace};

const PUNCTUATION: &[u8] = b"{}[]\":,\\ \n0-9.eEtrufalsn\x00\xff\xc3";

/// One generated body from the fixtures.
fn mutate(rng: &mut Rng, fixtures: &[Vec<u8>]) -> (String, Vec<u8>) {
    let base = &fixtures[rng.below(fixtures.len())];
    let mut body = base.clone();
    let kind = rng.below(10);
    let what = match kind {
        0 => {
            for _ in 0..=rng.below(8) {
                if !body.is_empty() {
                    let at = rng.below(body.len());
                    body[at] ^= 1 << rng.below(8);
                }
            }
            "bits flipped"
        }
        1 => {
            for _ in 0..=rng.below(8) {
                let at = rng.below(body.len() + 1);
                body.insert(at, PUNCTUATION[rng.below(PUNCTUATION.len())]);
            }
            "punctuation inserted"
        }
        2 => {
            let at = rng.below(body.len() + 1);
            let end = (at + rng.below(64)).min(body.len());
            body.drain(at..end);
            "a range deleted"
        }
        3 => {
            body.truncate(rng.below(body.len() + 1));
            "truncated"
        }
        4 => {
            let other = &fixtures[rng.below(fixtures.len())];
            let from = rng.below(other.len() + 1);
            let to = (from + rng.below(200)).min(other.len());
            let at = rng.below(body.len() + 1);
            body.splice(at..at, other[from..to].iter().copied());
            "spliced from another fixture"
        }
        5 => {
            body = (0..rng.below(512)).map(|_| rng.next() as u8).collect();
            "random bytes"
        }
        6 => {
            let depth = 1 + rng.below(100_000);
            let open = if rng.below(2) == 0 { b'[' } else { b'{' };
            body = std::iter::repeat_n(open, depth).collect();
            "deeply nested"
        }
        7 => {
            // A value replaced by a long string, closed or not.
            let at = body.iter().position(|&b| b == b':').map_or(0, |p| p + 1);
            let long = std::iter::repeat_n(b'a', 1 + rng.below(256 * 1024));
            let mut value = vec![b'"'];
            value.extend(long);
            if rng.below(2) == 0 {
                value.push(b'"');
            }
            body.splice(at..at, value);
            "a long string"
        }
        8 => {
            // A string's content with invalid UTF-8 and escapes.
            if let Some(at) = body.iter().position(|&b| b == b'"') {
                let junk: &[&[u8]] = &[b"\xff\xfe", b"\\ud800", b"\\u00", b"\xc3\x28", b"\\"];
                body.splice(at + 1..at + 1, junk[rng.below(junk.len())].iter().copied());
            }
            "invalid UTF-8 or escapes in a string"
        }
        _ => {
            // Numbers where strings were and back, nulls, empty containers.
            let swaps: &[(&[u8], &[u8])] = &[
                (b"\"", b""),
                (b"[", b"null"),
                (b"{", b"[]"),
                (b"1", b"1e999999"),
                (b"\"id\"", b"\"id\":null,\"x\""),
            ];
            let (from, to) = swaps[rng.below(swaps.len())];
            if let Some(at) = body.windows(from.len()).position(|w| w == from) {
                body.splice(at..at + from.len(), to.iter().copied());
            }
            "a value's type changed"
        }
    };
    (what.to_string(), body)
}

#[derive(Default)]
struct Tally {
    accepted: usize,
    unauthorized: usize,
    malformed: usize,
    misconfigured: usize,
    /// The slowest call, and what it was (a deadline is 1 s: this shows the margin).
    slowest: (std::time::Duration, String),
    plugin_failures: Vec<String>,
    forged_accepted: Vec<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adapters_answer_generated_webhooks_with_a_typed_outcome() {
    let count = switchboard_tests::fuzz::count(300);
    let seed = switchboard_tests::fuzz::seed();
    // A deadline of 5 s instead of 1: what this test looks for is a trap, a forgery let in or
    // work out of all proportion, not a busy machine (the slowest call is printed).
    let runtime = PluginRuntime::new(&PluginsConfig {
        cache_dir: workspace().join("target/plugin-cache-test"),
        deadline_ms: 5_000,
        ..PluginsConfig::default()
    })
    .expect("runtime");
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    for profile in profiles() {
        let name = profile_name(&profile);
        let tally = tallies.entry(name.clone()).or_default();
        fuzz(&profile, &runtime, count, seed, tally).await;
    }
    println!("{count} generated webhooks per adapter, seed {seed}:");
    println!(
        "{:<32} {:>9} {:>9} {:>12} {:>10} {:>13}  slowest call",
        "adapter", "answered", "malformed", "unauthorized", "trapped", "forged taken"
    );
    let mut problems = Vec::new();
    for (name, t) in &tallies {
        println!(
            "{name:<32} {:>9} {:>9} {:>12} {:>10} {:>13}  {:.0?} ({})",
            t.accepted,
            t.malformed,
            t.unauthorized,
            t.plugin_failures.len(),
            t.forged_accepted.len(),
            t.slowest.0,
            t.slowest.1
        );
        if t.misconfigured > 0 {
            problems.push(format!(
                "{name}: {} inputs answered `misconfigured` (the settings did not change)",
                t.misconfigured
            ));
        }
        problems.extend(t.plugin_failures.iter().map(|f| format!("{name}: {f}")));
        problems.extend(t.forged_accepted.iter().map(|f| format!("{name}: {f}")));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

async fn fuzz(
    profile: &Profile,
    runtime: &PluginRuntime,
    count: usize,
    seed: u64,
    tally: &mut Tally,
) {
    let loaded = load(runtime, profile).await;
    let dir = &profile.fixtures;
    let fixtures: Vec<Vec<u8>> = profile
        .webhooks
        .iter()
        .map(|(file, _)| std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}")))
        .collect();
    let key = secret(profile);
    // The same seed gives each adapter its own sequence, by name.
    let mut rng = Rng::salted(seed, &profile_name(profile));
    for n in 0..count {
        let (what, body) = mutate(&mut rng, &fixtures);
        // One in ten is signed over another body: a forgery.
        let forged = rng.below(10) == 0;
        let signed_over = match forged {
            true => [body.as_slice(), b" "].concat(),
            false => body.clone(),
        };
        let request = WebhookRequest {
            method: "POST".into(),
            path: "/webhooks/fuzz".into(),
            query: String::new(),
            headers: vec![
                ("content-type".to_string(), "application/json".to_string()),
                profile.sign(key, &signed_over),
            ],
            body,
        };
        let input = format!(
            "input {n} (seed {seed}, {what}{})",
            if forged { ", forged" } else { "" }
        );
        let started = std::time::Instant::now();
        let answer = loaded.adapter.handle_webhook(&loaded.ctx, request).await;
        if started.elapsed() > tally.slowest.0 {
            tally.slowest = (started.elapsed(), what.clone());
        }
        match answer {
            Err(failure) => tally
                .plugin_failures
                .push(format!("{input} failed as a plugin: {failure}")),
            Ok(Ok(outcome)) if forged => tally.forged_accepted.push(format!(
                "{input} was answered {} though signed over another body",
                outcome.status
            )),
            Ok(Ok(_)) => tally.accepted += 1,
            Ok(Err(AdapterError::Unauthorized(_))) => tally.unauthorized += 1,
            Ok(Err(AdapterError::Malformed(_))) => tally.malformed += 1,
            Ok(Err(AdapterError::Misconfigured(_))) => tally.misconfigured += 1,
        }
    }
}
