//! HMAC-SHA256 webhook signatures, as X, Meta and Genesys-style Open Messaging use them.
//!
//! All three put `sha256=<digest>` in a header and differ only in the digest's encoding
//! (X and Open Messaging: base64; Meta: lowercase hex). Verification always runs in constant
//! time (`Mac::verify_slice`), so a forger learns nothing from how long a refusal takes.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The prefix of every signature header value handled here.
pub const PREFIX: &str = "sha256=";

/// Why a signature was refused; its `Display` text is meant for an `unauthorized` reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureError {
    /// The value is not a digest in the expected encoding (named in the payload).
    Undecodable(&'static str),
    /// The digest is well formed but does not match the signed bytes and secret.
    Mismatch,
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Undecodable(encoding) => write!(f, "the signature is not valid {encoding}"),
            Self::Mismatch => f.write_str("the signature does not match the body and secret"),
        }
    }
}

impl std::error::Error for SignatureError {}

/// The raw HMAC-SHA256 of `message` under `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    mac(key, message).finalize().into_bytes().into()
}

/// `sha256=<base64 HMAC-SHA256>`: the X CRC response token and the X / Open Messaging header value.
pub fn sign_base64(key: &[u8], message: &[u8]) -> String {
    format!("{PREFIX}{}", BASE64.encode(hmac_sha256(key, message)))
}

/// `sha256=<lowercase hex HMAC-SHA256>`: the Meta `X-Hub-Signature-256` header value.
pub fn sign_hex(key: &[u8], message: &[u8]) -> String {
    format!("{PREFIX}{}", hex::encode(hmac_sha256(key, message)))
}

/// The digest part of a header value: surrounding whitespace and a `sha256=` prefix (any case)
/// removed. Senders differ on whether they include the prefix, so verification accepts both.
pub fn strip_prefix(value: &str) -> &str {
    let value = value.trim();
    match value.get(..PREFIX.len()) {
        Some(head) if head.eq_ignore_ascii_case(PREFIX) => &value[PREFIX.len()..],
        _ => value,
    }
}

/// Check a base64 signature (with or without `sha256=`) over `message`.
pub fn verify_base64(key: &[u8], message: &[u8], signature: &str) -> Result<(), SignatureError> {
    let digest = BASE64
        .decode(strip_prefix(signature))
        .map_err(|_| SignatureError::Undecodable("base64"))?;
    verify_digest(key, message, &digest)
}

/// Check a hex signature (with or without `sha256=`, either case) over `message`.
pub fn verify_hex(key: &[u8], message: &[u8], signature: &str) -> Result<(), SignatureError> {
    let digest =
        hex::decode(strip_prefix(signature)).map_err(|_| SignatureError::Undecodable("hex"))?;
    verify_digest(key, message, &digest)
}

/// Check a signature that may be base64 or hex, for senders that are not consistent about it
/// (public Genesys middleware accepts both). The two cannot be confused: a SHA-256 digest is 64
/// characters in hex, and 64 base64 characters would decode to 48 bytes, which never verifies.
pub fn verify_base64_or_hex(
    key: &[u8],
    message: &[u8],
    signature: &str,
) -> Result<(), SignatureError> {
    let digest = decode_any(strip_prefix(signature))?;
    verify_digest(key, message, &digest)
}

fn decode_any(digest: &str) -> Result<Vec<u8>, SignatureError> {
    let digest = digest.trim();
    if digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit()) {
        hex::decode(digest).map_err(|_| SignatureError::Undecodable("hex"))
    } else {
        BASE64
            .decode(digest)
            .map_err(|_| SignatureError::Undecodable("base64 or hex"))
    }
}

fn verify_digest(key: &[u8], message: &[u8], digest: &[u8]) -> Result<(), SignatureError> {
    mac(key, message)
        .verify_slice(digest)
        .map_err(|_| SignatureError::Mismatch)
}

fn mac(key: &[u8], message: &[u8]) -> Hmac<Sha256> {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(message);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    // Test vectors from the channel wire-format reference.
    const X_SECRET: &[u8] = b"fixture-consumer-secret";
    const X_CRC_TOKEN: &[u8] = b"crc-7f3a9c21-0b4e-4d2a-9e55-1c2d3e4f5a6b";
    const X_CRC_RESPONSE: &str = "sha256=XdBiQu5rh/HAC6KexTvJl7Ysd32Wx0gNeD0e4VzHHKg=";
    const X_BODY: &[u8] = br#"{"for_user_id":"1500000000000000001","direct_message_events":[]}"#;
    const X_BODY_SIGNATURE: &str = "sha256=H6uCFNjmOrvcve7O/goS2xoqLmNF6grbokClLZswKqg=";
    const META_SECRET: &[u8] = b"fixture-app-secret";
    const META_BODY: &[u8] = br#"{"object":"whatsapp_business_account","entry":[]}"#;
    const META_SIGNATURE: &str =
        "sha256=3c6c17aef3404f821546994a328dee7d0548411e3bb0476f74c11590cf5ba52a";
    const GENESYS_SECRET: &[u8] = b"fixture-genesys-secret";
    const GENESYS_BODY: &[u8] =
        br#"{"id":"msg-0001","type":"Text","text":"hi","direction":"Outbound"}"#;
    const GENESYS_SIGNATURE: &str = "sha256=klH9Q8l/R1Mu8Qpggwr+0C7S5T5WUTu9tQc8CZnwqRM=";

    #[test]
    fn x_crc_response_token() {
        assert_eq!(sign_base64(X_SECRET, X_CRC_TOKEN), X_CRC_RESPONSE);
    }

    #[test]
    fn x_body_signature() {
        assert_eq!(sign_base64(X_SECRET, X_BODY), X_BODY_SIGNATURE);
        assert_eq!(verify_base64(X_SECRET, X_BODY, X_BODY_SIGNATURE), Ok(()));
    }

    #[test]
    fn meta_hex_signature() {
        assert_eq!(sign_hex(META_SECRET, META_BODY), META_SIGNATURE);
        assert_eq!(verify_hex(META_SECRET, META_BODY, META_SIGNATURE), Ok(()));
        let upper = META_SIGNATURE.to_ascii_uppercase();
        assert_eq!(verify_hex(META_SECRET, META_BODY, &upper), Ok(()));
    }

    #[test]
    fn genesys_base64_signature() {
        assert_eq!(sign_base64(GENESYS_SECRET, GENESYS_BODY), GENESYS_SIGNATURE);
        assert_eq!(
            verify_base64(GENESYS_SECRET, GENESYS_BODY, GENESYS_SIGNATURE),
            Ok(())
        );
    }

    #[test]
    fn prefix_is_optional() {
        let bare = strip_prefix(GENESYS_SIGNATURE);
        assert_eq!(bare, "klH9Q8l/R1Mu8Qpggwr+0C7S5T5WUTu9tQc8CZnwqRM=");
        assert_eq!(verify_base64(GENESYS_SECRET, GENESYS_BODY, bare), Ok(()));
        assert_eq!(strip_prefix(" SHA256=abc "), "abc");
    }

    #[test]
    fn base64_or_hex_accepts_both_encodings() {
        let hex_signature = sign_hex(GENESYS_SECRET, GENESYS_BODY);
        assert_eq!(
            verify_base64_or_hex(GENESYS_SECRET, GENESYS_BODY, &hex_signature),
            Ok(())
        );
        assert_eq!(
            verify_base64_or_hex(GENESYS_SECRET, GENESYS_BODY, GENESYS_SIGNATURE),
            Ok(())
        );
        assert_eq!(
            verify_base64_or_hex(META_SECRET, META_BODY, META_SIGNATURE),
            Ok(())
        );
    }

    #[test]
    fn refusals_say_why() {
        assert_eq!(
            verify_base64(X_SECRET, b"{}", X_BODY_SIGNATURE),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_base64(b"wrong-secret", X_BODY, X_BODY_SIGNATURE),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_base64(X_SECRET, X_BODY, "sha256=not base64!"),
            Err(SignatureError::Undecodable("base64"))
        );
        assert_eq!(
            verify_hex(META_SECRET, META_BODY, "sha256=xyz"),
            Err(SignatureError::Undecodable("hex"))
        );
        // A truncated digest is a mismatch, not a crash.
        assert_eq!(
            verify_base64(X_SECRET, X_BODY, "sha256=H6uCFNjm"),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            SignatureError::Undecodable("base64").to_string(),
            "the signature is not valid base64"
        );
    }
}
