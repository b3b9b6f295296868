//! A simulator setup read from the host's own `switchboard.toml`.
//!
//! The demo and the tests configure the two sides from one file, so a secret or account id cannot
//! differ between them. Only what the simulator needs is read:
//!
//! ```toml
//! [server]
//! listen = "127.0.0.1:8080"
//!
//! [[integration]]
//! id = "x-demo"
//! adapter = "x"
//! [integration.settings]
//! consumer_secret = "…"
//! access_token = "…"
//! account_id = "1500000000000000001"
//! api_base = "http://127.0.0.1:9090"
//!
//! [[integration]]
//! id = "om-demo"
//! adapter = "open-messaging"
//! [integration.settings]
//! secret = "…"
//! webhook_url = "http://127.0.0.1:9090/open-messaging/om-demo"
//! ```
//!
//! A config that would send the host's replies somewhere other than the simulator still loads, with
//! a note saying so: it is the first thing to check when the demo shows no replies.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use anyhow::{Context, bail};
use axum::http::Uri;
use serde::Deserialize;

use crate::sim::{
    MetaPage, MetaPlatform, OpenMessagingPartner, SimConfig, WhatsAppNumber, XAccount,
};

/// The host's listen address when its config names none (DESIGN.md: `serve` defaults).
const DEFAULT_HOST_LISTEN: &str = "127.0.0.1:8080";

/// A simulator config and what a person should know about it.
#[derive(Debug)]
pub struct SimSetup {
    /// Not verbose; `listen` is the address given to [`sim_setup_from_host_config`].
    pub config: SimConfig,
    /// Integrations skipped, or whose replies will not reach the simulator.
    pub notes: Vec<String>,
}

#[derive(Deserialize)]
struct HostConfig {
    #[serde(default)]
    server: Server,
    #[serde(default, rename = "integration")]
    integrations: Vec<Integration>,
}

#[derive(Deserialize, Default)]
struct Server {
    listen: Option<String>,
}

#[derive(Deserialize)]
struct Integration {
    id: String,
    adapter: String,
    #[serde(default)]
    settings: toml::Table,
}

/// Reads the host config text and sets up a simulator listening on `sim_listen`: an X account per
/// `x` integration, a partner per `open-messaging` integration (its path is the last segment of its
/// `webhook_url`), a business number per `whatsapp` integration (`phone_number_id`,
/// `access_token`, `app_secret`, `verify_token`; its `api_base` should be the simulator), and the
/// host's address as where customer webhooks go.
pub fn sim_setup_from_host_config(
    toml_text: &str,
    sim_listen: SocketAddr,
) -> anyhow::Result<SimSetup> {
    let host: HostConfig = toml::from_str(toml_text).context("parsing the host config")?;
    let host_listen = host.server.listen.as_deref().unwrap_or(DEFAULT_HOST_LISTEN);
    let mut setup = SimSetup {
        config: SimConfig {
            listen: sim_listen,
            host_base_url: Some(connectable_url(host_listen)),
            ..SimConfig::default()
        },
        notes: Vec::new(),
    };
    for integration in &host.integrations {
        let id = &integration.id;
        match integration.adapter.as_str() {
            "x" => {
                let api_base = integration
                    .settings
                    .get("api_base")
                    .and_then(|value| value.as_str());
                match api_base {
                    None => setup.notes.push(format!(
                        "integration {id:?}: settings.api_base is not set, so its replies go to the real X API, \
                         not to http://{sim_listen}"
                    )),
                    Some(url) if !matches!(path_on(url, sim_listen).as_deref(), Some("" | "/")) => {
                        setup.notes.push(format!(
                            "integration {id:?}: api_base {url:?} is not http://{sim_listen}, so its replies will \
                             not reach the simulator"
                        ));
                    }
                    Some(_) => {}
                }
                setup.config.x_accounts.push(XAccount {
                    access_token: setting(integration, "access_token")?,
                    consumer_secret: setting(integration, "consumer_secret")?,
                    account_id: setting(integration, "account_id")?,
                    integration_id: id.clone(),
                });
            }
            "open-messaging" => {
                let webhook_url = setting(integration, "webhook_url")?;
                let url_path = webhook_url
                    .parse::<Uri>()
                    .map(|uri| uri.path().to_owned())
                    .unwrap_or_default();
                let Some(path) = url_path.rsplit('/').find(|segment| !segment.is_empty()) else {
                    bail!(
                        "integration {id:?}: webhook_url {webhook_url:?} has no path to serve it at"
                    );
                };
                if path_on(&webhook_url, sim_listen) != Some(format!("/open-messaging/{path}")) {
                    setup.notes.push(format!(
                        "integration {id:?}: webhook_url {webhook_url:?} is not http://{sim_listen}/open-messaging/\
                         {path}, so its replies will not reach the simulator"
                    ));
                }
                setup.config.open_messaging.push(OpenMessagingPartner {
                    secret: setting(integration, "secret")?,
                    integration_id: id.clone(),
                    path: path.to_owned(),
                });
            }
            "whatsapp" => {
                let number = whatsapp_number(integration, sim_listen, &mut setup.notes)?;
                setup.config.whatsapp.push(number);
            }
            "facebook" => {
                let page = meta_page(integration, sim_listen, &mut setup.notes)?;
                setup.config.meta_pages.push(page);
            }
            other => setup.notes.push(format!(
                "integration {id:?}: adapter {other:?} is not simulated; skipped"
            )),
        }
    }
    Ok(setup)
}

/// A setting as the adapter sees it: the host hands adapters every value as a string, so
/// `account_id = 1500000000000000001` works as well as the quoted form.
fn setting(integration: &Integration, key: &str) -> anyhow::Result<String> {
    match integration.settings.get(key) {
        Some(toml::Value::String(value)) => Ok(value.clone()),
        Some(other) => Ok(other.to_string()),
        None => bail!(
            "integration {:?}: settings.{key} is missing",
            integration.id
        ),
    }
}

/// A WhatsApp integration's number; a note when its `api_base` is not the simulator (the send
/// path below it is `/{api_version}/{phone_number_id}/messages`).
fn whatsapp_number(
    integration: &Integration,
    sim_listen: SocketAddr,
    notes: &mut Vec<String>,
) -> anyhow::Result<WhatsAppNumber> {
    let id = &integration.id;
    match integration.settings.get("api_base").and_then(|value| value.as_str()) {
        None => notes.push(format!(
            "integration {id:?}: settings.api_base is not set, so its replies go to the real WhatsApp Cloud API \
             (graph.facebook.com), not to http://{sim_listen}"
        )),
        Some(url) if !matches!(path_on(url, sim_listen).as_deref(), Some("" | "/")) => notes.push(format!(
            "integration {id:?}: api_base {url:?} is not http://{sim_listen}, so its replies will not reach the \
             simulator"
        )),
        Some(_) => {}
    }
    Ok(WhatsAppNumber {
        phone_number_id: setting(integration, "phone_number_id")?,
        access_token: setting(integration, "access_token")?,
        app_secret: setting(integration, "app_secret")?,
        verify_token: setting(integration, "verify_token")?,
        integration_id: id.clone(),
    })
}

/// A facebook (Messenger or Instagram) integration's page; a note when its `api_base` is not the
/// simulator (the send path below it is `/{api_version}/me/messages`).
fn meta_page(
    integration: &Integration,
    sim_listen: SocketAddr,
    notes: &mut Vec<String>,
) -> anyhow::Result<MetaPage> {
    let id = &integration.id;
    match integration.settings.get("api_base").and_then(|value| value.as_str()) {
        None => notes.push(format!(
            "integration {id:?}: settings.api_base is not set, so its replies go to the real Send API \
             (graph.facebook.com), not to http://{sim_listen}"
        )),
        Some(url) if !matches!(path_on(url, sim_listen).as_deref(), Some("" | "/")) => notes.push(format!(
            "integration {id:?}: api_base {url:?} is not http://{sim_listen}, so its replies will not reach the \
             simulator"
        )),
        Some(_) => {}
    }
    let platform = match integration.settings.get("platform") {
        None => MetaPlatform::Messenger,
        Some(_) => {
            let value = setting(integration, "platform")?;
            MetaPlatform::from_setting(&value).with_context(|| {
                format!(
                    "integration {id:?}: settings.platform {value:?} is not messenger or instagram"
                )
            })?
        }
    };
    Ok(MetaPage {
        platform,
        page_id: setting(integration, "page_id")?,
        page_access_token: setting(integration, "page_access_token")?,
        app_secret: setting(integration, "app_secret")?,
        verify_token: setting(integration, "verify_token")?,
        integration_id: id.clone(),
    })
}

/// The path of `url` when it is plain HTTP to the simulator's address (`localhost` counting as
/// loopback), `None` otherwise.
fn path_on(url: &str, sim: SocketAddr) -> Option<String> {
    let uri: Uri = url.parse().ok()?;
    let host = uri.host()?.trim_start_matches('[').trim_end_matches(']');
    let same_host = match host.parse::<IpAddr>() {
        Ok(ip) => ip == sim.ip(),
        Err(_) => host.eq_ignore_ascii_case("localhost") && sim.ip().is_loopback(),
    };
    let to_sim =
        uri.scheme_str() == Some("http") && same_host && uri.port_u16() == Some(sim.port());
    to_sim.then(|| uri.path().to_owned())
}

/// `http://{listen}`, with a wildcard address (`0.0.0.0`, `[::]`) replaced by loopback: a host
/// listening everywhere is reached here.
fn connectable_url(listen: &str) -> String {
    match listen.parse::<SocketAddr>() {
        Ok(mut addr) if addr.ip().is_unspecified() => {
            let loopback = if addr.is_ipv4() {
                IpAddr::V4(Ipv4Addr::LOCALHOST)
            } else {
                IpAddr::V6(Ipv6Addr::LOCALHOST)
            };
            addr.set_ip(loopback);
            format!("http://{addr}")
        }
        _ => format!("http://{listen}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIM: &str = "127.0.0.1:9090";

    const DEMO: &str = r#"
        [server]
        listen = "0.0.0.0:8080"
        [store]
        path = "./data"

        [[integration]]
        id = "x-demo"
        adapter = "x"
        flow = "greeting"
        [integration.settings]
        consumer_secret = "fixture-consumer-secret"
        access_token = "fixture-access-token"
        account_id = "1500000000000000001"
        api_base = "http://127.0.0.1:9090"

        [[integration]]
        id = "om-demo"
        adapter = "open-messaging"
        [integration.settings]
        secret = "fixture-genesys-secret"
        webhook_url = "http://localhost:9090/open-messaging/acme"
    "#;

    #[test]
    fn demo_config_maps_to_accounts_and_partners() {
        let setup = sim_setup_from_host_config(DEMO, SIM.parse().unwrap()).unwrap();
        assert_eq!(setup.notes, Vec::<String>::new());
        let config = setup.config;
        assert_eq!(config.listen, SIM.parse().unwrap());
        assert_eq!(
            config.host_base_url.as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(
            config.x_accounts,
            [XAccount {
                access_token: "fixture-access-token".into(),
                consumer_secret: "fixture-consumer-secret".into(),
                account_id: "1500000000000000001".into(),
                integration_id: "x-demo".into(),
            }]
        );
        assert_eq!(
            config.open_messaging,
            [OpenMessagingPartner {
                secret: "fixture-genesys-secret".into(),
                integration_id: "om-demo".into(),
                path: "acme".into(),
            }]
        );
    }

    #[test]
    fn replies_sent_elsewhere_and_unknown_adapters_are_noted() {
        let elsewhere = DEMO
            .replace("http://127.0.0.1:9090\"", "https://api.x.com\"")
            .replace(
                "localhost:9090/open-messaging/acme",
                "127.0.0.1:9999/hooks/acme",
            )
            .replace("[server]\n        listen = \"0.0.0.0:8080\"", "")
            + "\n[[integration]]\nid = \"pigeon\"\nadapter = \"carrier-pigeon\"\n";
        let setup = sim_setup_from_host_config(&elsewhere, SIM.parse().unwrap()).unwrap();
        assert_eq!(
            setup.config.host_base_url.as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(
            setup.config.open_messaging[0].path, "acme",
            "the partner still signs inbound messages"
        );
        assert_eq!(setup.notes.len(), 3, "{:#?}", setup.notes);
        assert!(setup.notes[0].contains("api.x.com"));
        assert!(setup.notes[1].contains("127.0.0.1:9999/hooks/acme"));
        assert!(setup.notes[2].contains("carrier-pigeon"));
    }

    #[test]
    fn facebook_integrations_map_to_pages() {
        let facebook = r#"
            [[integration]]
            id = "fb-demo"
            adapter = "facebook"
            [integration.settings]
            page_id = 600000000000003
            page_access_token = "fixture-page-token"
            app_secret = "fixture-app-secret"
            verify_token = "fixture-verify-token"
            api_base = "http://127.0.0.1:9090"

            [[integration]]
            id = "ig-demo"
            adapter = "facebook"
            [integration.settings]
            platform = "instagram"
            page_id = "17841400000000005"
            page_access_token = "fixture-ig-token"
            app_secret = "fixture-app-secret"
            verify_token = "fixture-verify-token"
            api_base = "https://graph.facebook.com"
        "#;
        let setup = sim_setup_from_host_config(facebook, SIM.parse().unwrap()).unwrap();
        assert_eq!(setup.config.meta_pages.len(), 2);
        assert_eq!(
            setup.config.meta_pages[0],
            MetaPage {
                platform: MetaPlatform::Messenger,
                page_id: "600000000000003".into(),
                page_access_token: "fixture-page-token".into(),
                app_secret: "fixture-app-secret".into(),
                verify_token: "fixture-verify-token".into(),
                integration_id: "fb-demo".into(),
            }
        );
        assert_eq!(setup.config.meta_pages[1].platform, MetaPlatform::Instagram);
        assert_eq!(setup.notes.len(), 1, "{:?}", setup.notes);
        assert!(
            setup.notes[0].contains("ig-demo") && setup.notes[0].contains("graph.facebook.com")
        );

        let wrong = facebook.replace("\"instagram\"", "\"whatsapp\"");
        let error = sim_setup_from_host_config(&wrong, SIM.parse().unwrap()).unwrap_err();
        assert!(format!("{error:#}").contains("whatsapp"), "{error:#}");
        let missing = facebook.replace("page_access_token = \"fixture-page-token\"", "");
        let error = sim_setup_from_host_config(&missing, SIM.parse().unwrap()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "integration \"fb-demo\": settings.page_access_token is missing"
        );
    }

    #[test]
    fn whatsapp_integrations_map_to_numbers() {
        let whatsapp = r#"
            [[integration]]
            id = "wa-demo"
            adapter = "whatsapp"
            [integration.settings]
            phone_number_id = 500000000000002
            access_token = "fixture-wa-token"
            app_secret = "fixture-app-secret"
            verify_token = "fixture-verify-token"
            api_base = "http://127.0.0.1:9090/"
        "#;
        let setup = sim_setup_from_host_config(whatsapp, SIM.parse().unwrap()).unwrap();
        assert_eq!(setup.notes, Vec::<String>::new());
        assert_eq!(
            setup.config.whatsapp,
            [WhatsAppNumber {
                phone_number_id: "500000000000002".into(),
                access_token: "fixture-wa-token".into(),
                app_secret: "fixture-app-secret".into(),
                verify_token: "fixture-verify-token".into(),
                integration_id: "wa-demo".into(),
            }]
        );
        let elsewhere = whatsapp.replace("http://127.0.0.1:9090/", "https://graph.facebook.com");
        let setup = sim_setup_from_host_config(&elsewhere, SIM.parse().unwrap()).unwrap();
        assert_eq!(setup.notes.len(), 1);
        assert!(
            setup.notes[0].contains("graph.facebook.com"),
            "{:?}",
            setup.notes
        );
        let unset = whatsapp.replace("api_base = \"http://127.0.0.1:9090/\"", "");
        let setup = sim_setup_from_host_config(&unset, SIM.parse().unwrap()).unwrap();
        assert!(
            setup.notes[0].contains("api_base is not set"),
            "{:?}",
            setup.notes
        );
        let broken = whatsapp.replace("app_secret", "appsecret");
        assert_eq!(
            sim_setup_from_host_config(&broken, SIM.parse().unwrap())
                .unwrap_err()
                .to_string(),
            "integration \"wa-demo\": settings.app_secret is missing"
        );
    }

    #[test]
    fn settings_are_read_as_the_host_passes_them() {
        let broken = DEMO.replace("access_token = \"fixture-access-token\"", "");
        let error = sim_setup_from_host_config(&broken, SIM.parse().unwrap()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "integration \"x-demo\": settings.access_token is missing"
        );
        let numeric = DEMO.replace("\"1500000000000000001\"", "1500000000000000001");
        let setup = sim_setup_from_host_config(&numeric, SIM.parse().unwrap()).unwrap();
        assert_eq!(setup.config.x_accounts[0].account_id, "1500000000000000001");
    }
}
