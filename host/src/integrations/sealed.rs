//! Integrations admins set through the API are stored with their settings, which hold platform
//! credentials; with a key (`[store] secret_key`, or `SWITCHBOARD_SECRET_KEY`) they are stored
//! encrypted with ChaCha20-Poly1305, bound to the integration's id, as
//! `sealed:v1:BASE64(nonce ‖ ciphertext)`. Without a key they are stored as plain JSON (with a
//! warning), and a host without the key refuses to start over sealed rows rather than run without
//! those integrations.

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};

/// The environment variable the key is read from when `[store] secret_key` is unset.
pub const KEY_VARIABLE: &str = "SWITCHBOARD_SECRET_KEY";

const PREFIX: &str = "sealed:v1:";

/// Seals and opens stored integrations (see the module docs).
#[derive(Clone, Default)]
pub struct Sealer {
    cipher: Option<ChaCha20Poly1305>,
}

impl Sealer {
    /// From the configured key, else `SWITCHBOARD_SECRET_KEY`, else none.
    pub fn from_config(key: Option<&str>) -> anyhow::Result<Sealer> {
        let from_env = std::env::var(KEY_VARIABLE).ok();
        match key.or(from_env.as_deref()) {
            Some(key) => Sealer::with_key(key),
            None => Ok(Sealer::default()),
        }
    }

    /// A sealer with `key`: 32 bytes as 64 hex digits.
    pub fn with_key(key: &str) -> anyhow::Result<Sealer> {
        let bytes = hex::decode(key.trim())
            .ok()
            .filter(|b| b.len() == 32)
            .with_context(|| {
                format!("the secret key ([store] secret_key or {KEY_VARIABLE}) must be 32 bytes as 64 hex digits (`openssl rand -hex 32`)")
            })?;
        Ok(Sealer {
            cipher: Some(ChaCha20Poly1305::new(Key::from_slice(&bytes))),
        })
    }

    pub fn has_key(&self) -> bool {
        self.cipher.is_some()
    }

    /// What to store for integration `id` as `json`: sealed with a key, else as it is.
    pub fn seal(&self, id: &str, json: &str) -> anyhow::Result<String> {
        use rand_core::RngCore;
        let Some(cipher) = &self.cipher else {
            return Ok(json.to_string());
        };
        let mut nonce = [0u8; 12];
        rand_core::OsRng.fill_bytes(&mut nonce);
        let sealed = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: json.as_bytes(),
                    aad: id.as_bytes(),
                },
            )
            .map_err(|_| anyhow::anyhow!("cannot encrypt integration `{id}`"))?;
        let mut out = nonce.to_vec();
        out.extend(sealed);
        Ok(format!("{PREFIX}{}", STANDARD.encode(out)))
    }

    /// The JSON of stored integration `id`, opened if sealed.
    pub fn open(&self, id: &str, stored: &str) -> anyhow::Result<String> {
        let Some(sealed) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_string());
        };
        let Some(cipher) = &self.cipher else {
            bail!(
                "integration `{id}` is stored encrypted and no key is set: set {KEY_VARIABLE} or [store] secret_key_file to the key it was saved with"
            );
        };
        let bytes = STANDARD
            .decode(sealed)
            .ok()
            .filter(|b| b.len() > 12)
            .with_context(|| format!("stored integration `{id}` is damaged"))?;
        let (nonce, ciphertext) = bytes.split_at(12);
        let json = cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: id.as_bytes(),
                },
            )
            .map_err(|_| {
                anyhow::anyhow!(
                    "cannot decrypt stored integration `{id}`: the secret key is not the one it was saved with"
                )
            })?;
        String::from_utf8(json).with_context(|| format!("stored integration `{id}` is damaged"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const OTHER: &str = "ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn sealed_rows_open_only_with_their_key_and_id() {
        let json = r#"{"id":"x-main","settings":{"access_token":"fixture-secret"}}"#;
        let sealer = Sealer::with_key(KEY).unwrap();
        let stored = sealer.seal("x-main", json).unwrap();
        assert!(stored.starts_with("sealed:v1:"), "{stored}");
        assert!(!stored.contains("fixture-secret"));
        assert_ne!(
            stored,
            sealer.seal("x-main", json).unwrap(),
            "a fresh nonce each time"
        );
        assert_eq!(sealer.open("x-main", &stored).unwrap(), json);

        let err = format!("{:#}", sealer.open("other", &stored).unwrap_err());
        assert!(err.contains("not the one it was saved with"), "{err}");
        let err = format!(
            "{:#}",
            Sealer::with_key(OTHER)
                .unwrap()
                .open("x-main", &stored)
                .unwrap_err()
        );
        assert!(err.contains("not the one it was saved with"), "{err}");
        let err = format!(
            "{:#}",
            Sealer::default().open("x-main", &stored).unwrap_err()
        );
        assert!(
            err.contains("stored encrypted and no key is set: set SWITCHBOARD_SECRET_KEY"),
            "{err}"
        );

        // Rows stored before a key was set still open; without a key, nothing is sealed.
        assert_eq!(sealer.open("x-main", json).unwrap(), json);
        assert_eq!(Sealer::default().seal("x-main", json).unwrap(), json);
    }

    #[test]
    fn a_malformed_key_is_refused() {
        let err = format!("{:#}", Sealer::with_key("short").err().unwrap());
        assert!(err.contains("64 hex digits"), "{err}");
    }
}
