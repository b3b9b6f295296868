//! The compliance suites, in-tree: every plugin `cargo xtask build-plugins` builds (a top-level
//! `target/plugins/NAME.wasm`: adapters, bots and data actions, in Rust, JavaScript and Python)
//! runs the suite its exports call for, with the profiles of `plugins/NAME/fixtures/`
//! (`check.toml`, `check-<platform>.toml`, or `use` of a twin's folder). It is the code
//! `switchboard plugin check` runs ([`switchboard::plugin_check`]), so a partner's run and this
//! one check the same things from the same data. A plugin without a profile fails, and so does
//! a profile whose plugin was not built.
//!
//! Adapters: the handshake; signatures accepted and refused (bad, missing, wrong key, tampered
//! body); every fixture decoded (echoes to nothing); every outbound kind the adapter declares
//! encoded; the platform's answers mapped to typed results; unknown event kinds ignored;
//! malformed, oversized and deeply nested bodies refused with `malformed`, never a trap.
//! Flow plugins: the kind they declare; their scripted conversations or calls answered as the
//! profile expects; odd and hostile input answered or refused with a typed error, never a trap;
//! every call within the host's limits.
//!
//! `fuzz`: generated webhooks at volume through each adapter, counted by outcome;
//! `routes_fuzz`: generated bodies for every admin and agent route of a running host.

mod fuzz;
mod routes_fuzz;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use switchboard::config::PluginsConfig;
use switchboard::plugin_check::{self, Yields};
use switchboard::runtime::{AdapterError, AdapterPlugin, CallContext, PluginRuntime};
use switchboard_tests::harness::TempDir;
use switchboard_tests::signing;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn plugins_dir() -> PathBuf {
    std::env::var_os("SWITCHBOARD_PLUGINS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/plugins"))
}

fn runtime() -> PluginRuntime {
    let dir = workspace().join("target/plugin-cache-test");
    PluginRuntime::new(&PluginsConfig {
        cache_dir: dir,
        ..PluginsConfig::default()
    })
    .expect("runtime")
}

/// Every plugin passes the suite of its kind with its own profile; the JavaScript and Python
/// plugins (adapters, a bot, a data action) included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_plugin_passes_its_compliance_profile() {
    let report = plugin_check::check_tree(
        &runtime(),
        &plugins_dir(),
        &workspace().join("plugins"),
        &|_| true,
    )
    .await
    .expect("the suite runs");
    println!("{}", report.render());
    for plugin in [
        "x",
        "whatsapp",
        "facebook",
        "open-messaging",
        "open-messaging-js",
        "open-messaging-py",
        "faq-bot",
        "faq-bot-js",
        "faq-bot-py",
        "http-lookup",
        "http-lookup-js",
        "http-lookup-py",
        "directory",
    ] {
        let prefix = format!("{plugin}: ");
        assert!(
            report
                .checks
                .iter()
                .any(|(_, what)| what.starts_with(&prefix)),
            "{plugin} was not checked"
        );
    }
    assert!(
        report.passed(),
        "compliance failures:\n  {}",
        report.failures().join("\n  ")
    );
}

/// A plugin cannot pass silently: a component without a profile (an adapter or a bot) fails
/// the suite, saying where the profile goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_without_a_profile_fails_the_suite() {
    let dir = TempDir::new("compliance-unprofiled");
    for (from, to) in [("faq-bot", "new-bot"), ("open-messaging", "new-adapter")] {
        std::fs::copy(
            plugins_dir().join(format!("{from}.wasm")),
            dir.path().join(format!("{to}.wasm")),
        )
        .unwrap();
    }
    let sources = workspace().join("plugins");
    let report = plugin_check::check_tree(&runtime(), dir.path(), &sources, &|name| {
        name.starts_with("new-")
    })
    .await
    .expect("the suite runs");
    assert!(!report.passed(), "{}", report.render());
    for name in ["new-adapter", "new-bot"] {
        let expected = format!(
            "{name}: no compliance profile: write {}/check.toml",
            sources.join(name).join("fixtures").display()
        );
        assert!(
            report.failures().iter().any(|f| f.starts_with(&expected)),
            "no {expected:?} in:\n{}",
            report.render()
        );
    }

    // A profile of the wrong kind fails too: the bot's profile for an adapter.
    let fixtures = dir.path().join("fixtures");
    std::fs::create_dir_all(&fixtures).unwrap();
    std::fs::copy(
        sources.join("faq-bot/fixtures/check.toml"),
        fixtures.join("check.toml"),
    )
    .unwrap();
    let report = plugin_check::check(&dir.path().join("new-adapter.wasm"), &fixtures)
        .await
        .expect("the suite runs");
    assert!(
        report
            .failures()
            .iter()
            .any(|f| f
                .ends_with("the profile is for a bot, but this component is a channel adapter")),
        "{}",
        report.render()
    );
}

/// One adapter profile of the tree: a platform of a plugin, read from its check*.toml.
pub struct Profile {
    /// The plugin file under the plugins folder, without `.wasm`.
    pub plugin: String,
    /// "" or the platform of an adapter serving several (`messenger`).
    pub label: String,
    /// The folder of its fixture files.
    pub fixtures: PathBuf,
    pub settings: BTreeMap<String, String>,
    /// The webhook fixtures and what each gives.
    pub webhooks: Vec<(String, Yields)>,
    data: plugin_check::Profile,
}

impl Profile {
    /// The signature header over `body` with `secret`.
    pub fn sign(&self, secret: &str, body: &[u8]) -> (String, String) {
        self.data
            .sign(secret, body)
            .pop()
            .expect("the in-tree adapters sign their webhooks")
    }
}

/// The adapter profiles of the tree, of the adapters in `plugins`.
fn profiles() -> Vec<Profile> {
    let mut out = Vec::new();
    for plugin in [
        "x",
        "open-messaging",
        "open-messaging-js",
        "open-messaging-py",
        "whatsapp",
        "facebook",
    ] {
        let dir = workspace().join("plugins").join(plugin).join("fixtures");
        for file in plugin_check::profile_files(&dir).expect("profiles") {
            let data = file.adapter().expect("an adapter profile");
            out.push(Profile {
                plugin: plugin.to_string(),
                label: file.label.clone(),
                fixtures: file.fixtures.clone(),
                settings: data.settings.clone(),
                webhooks: data.webhooks.iter().map(|(f, y)| (f.clone(), *y)).collect(),
                data,
            });
        }
    }
    out
}

/// The signing key of a profile.
fn secret(profile: &Profile) -> &str {
    profile.data.key()
}

fn setting<'a>(profile: &'a Profile, key: &str) -> Option<&'a str> {
    profile.settings.get(key).map(String::as_str)
}

/// The plugin, and the platform where one adapter serves several (`facebook (instagram)`).
fn profile_name(profile: &Profile) -> String {
    match profile.label.as_str() {
        "" => profile.plugin.clone(),
        platform => format!("{} ({platform})", profile.plugin),
    }
}

struct Loaded {
    adapter: AdapterPlugin,
    ctx: CallContext,
}

impl Loaded {
    async fn webhook(
        &self,
        method: &str,
        query: &str,
        headers: Vec<(String, String)>,
        body: &[u8],
    ) -> Result<switchboard::runtime::WebhookOutcome, AdapterError> {
        plugin_check::webhook_request(&self.adapter, &self.ctx, method, query, headers, body)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "{} must not fail as a plugin (trap, timeout, memory): {e}",
                    self.adapter.name()
                )
            })
    }
}

async fn load(runtime: &PluginRuntime, profile: &Profile) -> Loaded {
    let path = plugins_dir().join(format!("{}.wasm", profile.plugin));
    assert!(
        path.exists(),
        "{} is missing: run `cargo xtask build-plugins` (or `cargo xtask test`)",
        path.display(),
    );
    let adapter = runtime
        .load_adapter_file(&path)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let ctx = CallContext {
        integration_id: format!("compliance-{}", profile.plugin),
        settings: Arc::new(profile.settings.clone()),
    };
    Loaded { adapter, ctx }
}

/// Request headers as the host passes them to an adapter.
type Headers = Vec<(String, String)>;

/// Meta's verification GETs, as `(case, query)`; `{token}` is the integration's verify token.
const META_HANDSHAKES: [(&str, &str); 7] = [
    (
        "good",
        "hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444",
    ),
    (
        "wrong mode",
        "hub.mode=unsubscribe&hub.verify_token={token}&hub.challenge=1158201444",
    ),
    (
        "missing mode",
        "hub.verify_token={token}&hub.challenge=1158201444",
    ),
    (
        "wrong token",
        "hub.mode=subscribe&hub.verify_token=not-the-verify-token&hub.challenge=1158201444",
    ),
    (
        "missing token",
        "hub.mode=subscribe&hub.challenge=1158201444",
    ),
    (
        "empty challenge",
        "hub.mode=subscribe&hub.verify_token={token}&hub.challenge=",
    ),
    (
        "missing challenge",
        "hub.mode=subscribe&hub.verify_token={token}",
    ),
];

/// What every Meta adapter answers to each case: the one behaviour of `switchboard_sdk::meta`.
const META_EXPECTED: [(&str, &str); 13] = [
    ("GET good", "200 text/plain 1158201444"),
    ("GET wrong mode", "400 malformed"),
    ("GET missing mode", "400 malformed"),
    ("GET wrong token", "401 unauthorized"),
    ("GET missing token", "401 unauthorized"),
    ("GET empty challenge", "400 malformed"),
    ("GET missing challenge", "400 malformed"),
    ("POST good", "200"),
    ("POST missing header", "401 unauthorized"),
    ("POST wrong key", "401 unauthorized"),
    ("POST sha256= with bad hex", "401 unauthorized"),
    ("POST SHA-1 X-Hub-Signature only", "401 unauthorized"),
    ("POST tampered body", "401 unauthorized"),
];

/// What the host answers for an adapter's result (`server.rs`): the status, then the error kind,
/// or the content type and body of an answer that has them.
fn answer(result: &Result<switchboard::runtime::WebhookOutcome, AdapterError>) -> String {
    match result {
        Ok(outcome) => {
            let content_type = outcome
                .headers
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
                .map(|(_, value)| value.as_str());
            [
                Some(outcome.status.to_string()),
                content_type.map(str::to_owned),
                (!outcome.body.is_empty())
                    .then(|| String::from_utf8_lossy(&outcome.body).into_owned()),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ")
        }
        Err(AdapterError::Unauthorized(_)) => "401 unauthorized".into(),
        Err(AdapterError::Malformed(_)) => "400 malformed".into(),
        Err(AdapterError::Misconfigured(_)) => "500 misconfigured".into(),
    }
}

/// WhatsApp, Messenger and Instagram follow the same Meta rules for the subscription handshake
/// and `X-Hub-Signature-256`, so a partner must get the same answer from each for the same
/// request: the same status and the same error kind, case by case.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meta_adapters_answer_handshakes_and_signatures_alike() {
    let runtime = runtime();
    let meta: Vec<Profile> = profiles()
        .into_iter()
        .filter(|p| {
            p.data
                .handshake
                .as_ref()
                .is_some_and(|h| h.answer == plugin_check::HandshakeAnswer::Echo)
        })
        .collect();
    let names: Vec<String> = meta.iter().map(profile_name).collect();
    assert_eq!(
        names,
        ["whatsapp", "facebook (instagram)", "facebook (messenger)"],
        "the Meta adapters this case compares"
    );

    // answers[case] = what each adapter answered, in the order of `names`.
    let mut answers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for profile in &meta {
        let adapter = load(&runtime, profile).await;
        let token = setting(profile, "verify_token").expect("a Meta profile has a verify token");
        for (case, query) in META_HANDSHAKES {
            let query = query.replace("{token}", token);
            let result = adapter.webhook("GET", &query, vec![], b"").await;
            answers
                .entry(format!("GET {case}"))
                .or_default()
                .push(answer(&result));
        }

        let (fixture, _) = &profile.webhooks[0];
        let body = std::fs::read(profile.fixtures.join(fixture))
            .unwrap_or_else(|e| panic!("{fixture}: {e}"));
        let secret = secret(profile);
        let signed = profile.sign(secret, &body);
        let header = |name: &str, value: String| vec![(name.to_string(), value)];
        let posts: [(&str, Headers, Vec<u8>); 6] = [
            ("good", vec![signed.clone()], body.clone()),
            ("missing header", vec![], body.clone()),
            (
                "wrong key",
                vec![profile.sign("not-the-app-secret", &body)],
                body.clone(),
            ),
            (
                "sha256= with bad hex",
                header(&signed.0, format!("sha256={}", "zz".repeat(32))),
                body.clone(),
            ),
            (
                "SHA-1 X-Hub-Signature only",
                header(
                    "x-hub-signature",
                    signing::hub_signature_sha1(secret, &body),
                ),
                body.clone(),
            ),
            (
                "tampered body",
                vec![signed.clone()],
                [body.as_slice(), b" "].concat(),
            ),
        ];
        for (case, headers, body) in posts {
            let result = adapter.webhook("POST", "", headers, &body).await;
            answers
                .entry(format!("POST {case}"))
                .or_default()
                .push(answer(&result));
        }
    }

    let mut failures = Vec::new();
    for (case, expected) in META_EXPECTED {
        let got = &answers[case];
        let table = names
            .iter()
            .zip(got)
            .map(|(name, answer)| format!("{name}: {answer}"))
            .collect::<Vec<_>>()
            .join(", ");
        if got.iter().any(|answer| answer != &got[0]) {
            failures.push(format!("{case}: the Meta adapters differ ({table})"));
        } else if got[0] != expected {
            failures.push(format!(
                "{case}: expected {expected}, all answered {}",
                got[0]
            ));
        }
    }
    assert_eq!(
        answers.len(),
        META_EXPECTED.len(),
        "every case has an expected answer"
    );
    assert!(
        failures.is_empty(),
        "Meta handshake and signature answers:\n  {}",
        failures.join("\n  ")
    );
}
