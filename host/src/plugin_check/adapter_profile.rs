//! The adapter profile: what a platform looks like (see [`super::adapter`]), and how it signs.

use std::collections::BTreeMap;

use base64::Engine;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The profile of a platform (see the module docs).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
    pub signature: Option<Signature>,
    #[serde(default)]
    pub webhooks: BTreeMap<String, Yields>,
    /// Fixture files that are not webhook bodies (expected requests, for the adapter's own tests).
    #[serde(default)]
    pub other: Vec<String>,
    #[serde(default)]
    pub answers: Vec<Answer>,
    pub handshake: Option<Handshake>,
    /// A well-formed body of an event kind the adapter does not know: answered 2xx, no events.
    pub unknown_kind: Option<String>,
    /// Outbound kinds beyond text, agent, quick replies and attachments: `template`,
    /// `public-reply`.
    #[serde(default)]
    pub sends: Vec<String>,
}

/// A platform's GET subscription check.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Handshake {
    /// The query; `{challenge}` is replaced by the challenge, `{token}` by the `token` setting.
    pub query: String,
    pub challenge: String,
    pub answer: HandshakeAnswer,
    /// `echo`: the setting holding the verify token.
    pub token: Option<String>,
    /// `signature`: the JSON field of the answer holding the signature of the challenge.
    pub field: Option<String>,
}

/// What a handshake answer is made of, which decides how it could be abused.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HandshakeAnswer {
    /// A signature of the challenge with the key that signs webhooks (X's CRC): answered for
    /// any challenge it would sign forged bodies, so only challenges of the platform's shape
    /// may be answered.
    Signature,
    /// The challenge itself, echoed once the verify token matches (Meta's `hub.challenge`):
    /// it signs nothing, so it cannot forge a webhook.
    Echo,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signature {
    pub header: String,
    pub setting: String,
    #[serde(default)]
    pub prefix: String,
    #[serde(default = "base64_name")]
    pub encoding: String,
}

fn base64_name() -> String {
    "base64".into()
}

/// What a webhook fixture gives.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Yields {
    Events,
    Nothing,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    pub status: u16,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub expect: String,
}

/// HMAC-SHA256 (RFC 2104), as platforms sign webhooks.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

impl Profile {
    /// The signature header for `body` signed with `key`, if the platform signs.
    pub fn sign(&self, key: &str, body: &[u8]) -> Vec<(String, String)> {
        let Some(sig) = &self.signature else {
            return Vec::new();
        };
        let mac = hmac_sha256(key.as_bytes(), body);
        let encoded = match sig.encoding.as_str() {
            "hex" => hex::encode(mac),
            _ => base64::engine::general_purpose::STANDARD.encode(mac),
        };
        vec![(sig.header.clone(), format!("{}{encoded}", sig.prefix))]
    }

    /// The signing key (the setting [`Signature::setting`] names), "" when it does not sign.
    pub fn key(&self) -> &str {
        self.signature
            .as_ref()
            .and_then(|s| self.settings.get(&s.setting))
            .map_or("", String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_the_reference_vector() {
        // Genesys's test vector (channel-wire-formats §6.6).
        let body = br#"{"id":"msg-0001","type":"Text","text":"hi","direction":"Outbound"}"#;
        let mac = hmac_sha256(b"fixture-genesys-secret", body);
        assert_eq!(
            base64::engine::general_purpose::STANDARD.encode(mac),
            "klH9Q8l/R1Mu8Qpggwr+0C7S5T5WUTu9tQc8CZnwqRM="
        );
    }
}
