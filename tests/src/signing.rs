//! The signatures platforms put on their webhooks, computed exactly as each platform documents them.
//!
//! All of them are HMAC-SHA256 over the raw bytes; they differ in the key and in how the digest is
//! written (reference §0): X and open messaging use `sha256=` + base64, Meta uses `sha256=` + lowercase
//! hex. Tests sign the exact bytes they send, never a re-serialization, because that is what the
//! host must verify.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The `response_token` X expects in answer to a CRC check (`GET ?crc_token=…`, reference §1.1).
/// The HMAC covers only the token, keyed with the app's consumer secret.
pub fn x_crc_response_token(consumer_secret: &str, crc_token: &str) -> String {
    sha256_base64(consumer_secret, crc_token.as_bytes())
}

/// The `x-twitter-webhooks-signature` header X puts on every event POST (reference §1.2).
pub fn x_signature(consumer_secret: &str, body: &[u8]) -> String {
    sha256_base64(consumer_secret, body)
}

/// The `X-Hub-Signature-256` header of Genesys-style open messaging (reference §6.6): the same
/// header name as Meta's, but base64, not hex.
pub fn hub_signature_base64(secret: &str, body: &[u8]) -> String {
    sha256_base64(secret, body)
}

/// The `X-Hub-Signature-256` header of Meta webhooks (WhatsApp, Messenger, Instagram; reference
/// §2.2): lowercase hex.
pub fn hub_signature_hex(secret: &str, body: &[u8]) -> String {
    format!("sha256={}", hex::encode(hmac_sha256(secret, body)))
}

/// The legacy `X-Hub-Signature` header Meta still sends beside `X-Hub-Signature-256` (reference
/// §2.2): `sha1=` + lowercase hex HMAC-SHA1. A real one, so that a test refusing it proves the
/// header is refused, not merely that a made-up value fails to verify.
pub fn hub_signature_sha1(app_secret: &str, body: &[u8]) -> String {
    let mac = Hmac::<Sha1>::new_from_slice(app_secret.as_bytes())
        .expect("HMAC accepts keys of any length")
        .chain_update(body)
        .finalize()
        .into_bytes();
    format!("sha1={}", hex::encode(mac))
}

/// Checks an `X-Hub-Signature-256: sha256=<base64>` header the way the simulator's open-messaging
/// partner endpoint must: over the raw body, in constant time.
pub fn verify_hub_signature_base64(secret: &str, body: &[u8], header: &str) -> bool {
    let Some(encoded) = header.strip_prefix("sha256=") else {
        return false;
    };
    let Ok(digest) = BASE64.decode(encoded) else {
        return false;
    };
    keyed(secret)
        .chain_update(body)
        .verify_slice(&digest)
        .is_ok()
}

fn sha256_base64(key: &str, message: &[u8]) -> String {
    format!("sha256={}", BASE64.encode(hmac_sha256(key, message)))
}

fn hmac_sha256(key: &str, message: &[u8]) -> [u8; 32] {
    keyed(key)
        .chain_update(message)
        .finalize()
        .into_bytes()
        .into()
}

fn keyed(key: &str) -> HmacSha256 {
    HmacSha256::new_from_slice(key.as_bytes()).expect("HMAC accepts keys of any length")
}

#[cfg(test)]
mod tests {
    use super::*;

    // The vectors below are the reference's (each checked there with two implementations).

    #[test]
    fn x_crc_matches_reference_1_1() {
        assert_eq!(
            x_crc_response_token(
                "fixture-consumer-secret",
                "crc-7f3a9c21-0b4e-4d2a-9e55-1c2d3e4f5a6b"
            ),
            "sha256=XdBiQu5rh/HAC6KexTvJl7Ysd32Wx0gNeD0e4VzHHKg="
        );
    }

    #[test]
    fn x_signature_matches_reference_1_2() {
        let body = br#"{"for_user_id":"1500000000000000001","direct_message_events":[]}"#;
        assert_eq!(
            x_signature("fixture-consumer-secret", body),
            "sha256=H6uCFNjmOrvcve7O/goS2xoqLmNF6grbokClLZswKqg="
        );
    }

    #[test]
    fn meta_signature_matches_reference_2_2() {
        let body = br#"{"object":"whatsapp_business_account","entry":[]}"#;
        assert_eq!(
            hub_signature_hex("fixture-app-secret", body),
            "sha256=3c6c17aef3404f821546994a328dee7d0548411e3bb0476f74c11590cf5ba52a"
        );
    }

    #[test]
    fn legacy_meta_signature_is_hmac_sha1() {
        // Computed independently (Python's hmac with hashlib.sha1) over §2.2's body.
        let body = br#"{"object":"whatsapp_business_account","entry":[]}"#;
        assert_eq!(
            hub_signature_sha1("fixture-app-secret", body),
            "sha1=f0fbba4bb12eb2da69a98646d2506b8f572e20fb"
        );
    }

    #[test]
    fn open_messaging_signature_matches_reference_6_6() {
        let body = br#"{"id":"msg-0001","type":"Text","text":"hi","direction":"Outbound"}"#;
        let expected = "sha256=klH9Q8l/R1Mu8Qpggwr+0C7S5T5WUTu9tQc8CZnwqRM=";
        assert_eq!(
            hub_signature_base64("fixture-genesys-secret", body),
            expected
        );
        assert!(verify_hub_signature_base64(
            "fixture-genesys-secret",
            body,
            expected
        ));
    }

    #[test]
    fn verification_refuses_wrong_secret_body_or_format() {
        let body = br#"{"id":"msg-0001"}"#;
        let good = hub_signature_base64("s3cret", body);
        assert!(verify_hub_signature_base64("s3cret", body, &good));
        assert!(!verify_hub_signature_base64("other", body, &good));
        assert!(!verify_hub_signature_base64("s3cret", b"{}", &good));
        assert!(!verify_hub_signature_base64(
            "s3cret",
            body,
            good.trim_start_matches("sha256=")
        ));
        assert!(!verify_hub_signature_base64(
            "s3cret",
            body,
            &hub_signature_hex("s3cret", body)
        ));
        assert!(!verify_hub_signature_base64("s3cret", body, "sha256=!!"));
    }
}
