//! Meta's subscription handshake and event signature (reference §2.1, §2.2).

use subtle::ConstantTimeEq;

use crate::{AdapterError, HttpResponse, WebhookOutcome, WebhookRequest, http, signature};

/// Meta signs every event POST in this header: `sha256=<lowercase hex HMAC-SHA256(app secret,
/// raw body)>`.
pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";

/// The legacy `sha1=<hex HMAC-SHA1>` header Meta still sends beside [`SIGNATURE_HEADER`]. It is
/// never accepted on its own: Meta always sends the SHA-256 header too, so requiring it costs a
/// real delivery nothing and leaves a forger no weaker hash to aim at.
pub const LEGACY_SIGNATURE_HEADER: &str = "x-hub-signature";

/// Answer Meta's subscription check, `GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…`:
/// Meta proves the URL belongs to whoever typed `verify_token` into the app dashboard, and wants
/// the challenge back as plain text.
///
/// The one behaviour of every Meta adapter (see the [module](super) table): a GET that is not
/// `hub.mode=subscribe` is [`AdapterError::Malformed`]; a missing or wrong `hub.verify_token`
/// is [`AdapterError::Unauthorized`], compared in constant time so that timing tells a prober
/// neither how much of a guess was right nor how long the token is; a missing or empty
/// `hub.challenge` is [`AdapterError::Malformed`]. The challenge is echoed as is: it is not a
/// signature, so answering any challenge signs nothing.
///
/// `verify_token` is the integration's setting (`settings::get("verify_token")`). Unset or
/// empty, it is [`AdapterError::Misconfigured`] (an empty one would let `hub.verify_token=`
/// through); that is asked only once the request is a verification, so a stray GET is still
/// told it is none.
pub fn verify_subscription(
    query: &str,
    verify_token: Option<&str>,
) -> Result<WebhookOutcome, AdapterError> {
    let mode = http::query_param(query, "hub.mode");
    if mode.as_deref() != Some("subscribe") {
        return Err(AdapterError::Malformed(format!(
            "a GET must be Meta's verification request with `hub.mode=subscribe`, not {:?}; \
             events arrive by POST",
            mode.unwrap_or_default()
        )));
    }
    let verify_token = verify_token
        .filter(|token| !token.is_empty())
        .ok_or_else(|| AdapterError::Misconfigured("setting `verify_token` is missing".into()))?;
    let token = http::query_param(query, "hub.verify_token").ok_or_else(|| {
        AdapterError::Unauthorized("the verification request has no `hub.verify_token`".into())
    })?;
    if !same_secret(&token, verify_token) {
        return Err(AdapterError::Unauthorized(
            "`hub.verify_token` does not match the integration's verify_token".into(),
        ));
    }
    let challenge = http::query_param(query, "hub.challenge")
        .filter(|challenge| !challenge.is_empty())
        .ok_or_else(|| {
            AdapterError::Malformed(
                "the verification request has no `hub.challenge` to echo".into(),
            )
        })?;
    Ok(WebhookOutcome {
        response: HttpResponse {
            status: 200,
            headers: vec![("content-type".into(), "text/plain".into())],
            body: challenge.into_bytes(),
        },
        events: Vec::new(),
    })
}

/// Check an event POST's `X-Hub-Signature-256` over the raw body with the app secret, before
/// anything reads the body. Every refusal is [`AdapterError::Unauthorized`] and says why: the
/// header is missing (naming the legacy SHA-1 header when only that one came), is not hex, or
/// does not match. The comparison runs in constant time ([`signature::verify_hex`]).
pub fn verify_signature(req: &WebhookRequest, app_secret: &str) -> Result<(), AdapterError> {
    let Some(value) = http::header(&req.headers, SIGNATURE_HEADER) else {
        let legacy_only = http::header(&req.headers, LEGACY_SIGNATURE_HEADER).is_some();
        return Err(AdapterError::Unauthorized(if legacy_only {
            format!(
                "the {SIGNATURE_HEADER} header is missing; the legacy SHA-1 \
                 {LEGACY_SIGNATURE_HEADER} alone is not accepted"
            )
        } else {
            format!("the {SIGNATURE_HEADER} header is missing")
        }));
    };
    signature::verify_hex(app_secret.as_bytes(), &req.body, value)
        .map_err(|e| AdapterError::Unauthorized(format!("{SIGNATURE_HEADER}: {e}")))
}

/// The refusal of any method but GET (verification) and POST (events), which is all Meta sends.
pub fn unsupported_method(method: &str) -> AdapterError {
    AdapterError::Malformed(format!(
        "Meta sends GET (verification) and POST (events) only, not {method}"
    ))
}

/// Compares two secrets without an early exit: both are hashed under a fixed key first, so the
/// comparison always covers 32 bytes, whatever the lengths, and neither the length of the token
/// nor how much of a guess was right shows in the time taken.
fn same_secret(given: &str, expected: &str) -> bool {
    let given = signature::hmac_sha256(b"switchboard-meta-verify-token", given.as_bytes());
    let expected = signature::hmac_sha256(b"switchboard-meta-verify-token", expected.as_bytes());
    given.ct_eq(&expected).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{self, webhook_request};

    const VERIFY: Option<&str> = Some("fixture-verify-token");
    // The reference's Meta test vector (§2.2).
    const SECRET: &str = "fixture-app-secret";
    const BODY: &[u8] = br#"{"object":"whatsapp_business_account","entry":[]}"#;
    const BODY_SIGNATURE: &str =
        "sha256=3c6c17aef3404f821546994a328dee7d0548411e3bb0476f74c11590cf5ba52a";

    fn post(headers: &[(&str, &str)], body: &[u8]) -> WebhookRequest {
        webhook_request("POST", "", headers, body)
    }

    #[test]
    fn echoes_the_challenge_as_plain_text() {
        let query =
            "hub.mode=subscribe&hub.verify_token=fixture-verify-token&hub.challenge=1158201444";
        let outcome = verify_subscription(query, VERIFY).unwrap();
        assert_eq!(outcome.response.status, 200);
        assert_eq!(outcome.response.body, b"1158201444");
        assert_eq!(
            http::header(&outcome.response.headers, "content-type"),
            Some("text/plain")
        );
        assert!(outcome.events.is_empty());
        // Echoed as sent (decoded from the query), whatever it holds.
        let odd = "hub.mode=subscribe&hub.verify_token=fixture-verify-token&hub.challenge=%7B%22a%22%3A1%7D+x";
        assert_eq!(
            verify_subscription(odd, VERIFY).unwrap().response.body,
            br#"{"a":1} x"#
        );
    }

    #[test]
    fn a_get_that_is_no_subscription_is_malformed() {
        for query in [
            "",
            "hub.verify_token=fixture-verify-token&hub.challenge=1",
            "hub.mode=unsubscribe&hub.verify_token=fixture-verify-token&hub.challenge=1",
            "hub.mode=Subscribe&hub.verify_token=fixture-verify-token&hub.challenge=1",
            // The mode comes first: a wrong token does not turn a non-verification into a 401.
            "hub.mode=unsubscribe&hub.verify_token=guess&hub.challenge=1",
        ] {
            let reason = testing::malformed(verify_subscription(query, VERIFY));
            assert!(reason.contains("hub.mode=subscribe"), "{query}: {reason}");
        }
    }

    #[test]
    fn a_missing_or_wrong_verify_token_is_unauthorized() {
        for (query, why) in [
            (
                "hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1",
                "does not match",
            ),
            (
                "hub.mode=subscribe&hub.verify_token=fixture-verify-tokeN&hub.challenge=1",
                "does not match",
            ),
            (
                "hub.mode=subscribe&hub.verify_token=fixture-verify&hub.challenge=1",
                "does not match",
            ),
            (
                "hub.mode=subscribe&hub.verify_token=fixture-verify-token-and-more&hub.challenge=1",
                "does not match",
            ),
            (
                "hub.mode=subscribe&hub.verify_token=&hub.challenge=1",
                "does not match",
            ),
            (
                "hub.mode=subscribe&hub.challenge=1",
                "no `hub.verify_token`",
            ),
            // The token comes before the challenge.
            (
                "hub.mode=subscribe&hub.verify_token=guess",
                "does not match",
            ),
        ] {
            let reason = testing::unauthorized(verify_subscription(query, VERIFY));
            assert!(reason.contains(why), "{query}: {reason}");
        }
    }

    #[test]
    fn a_missing_or_empty_challenge_is_malformed() {
        for query in [
            "hub.mode=subscribe&hub.verify_token=fixture-verify-token",
            "hub.mode=subscribe&hub.verify_token=fixture-verify-token&hub.challenge=",
        ] {
            let reason = testing::malformed(verify_subscription(query, VERIFY));
            assert!(reason.contains("hub.challenge"), "{query}: {reason}");
        }
    }

    #[test]
    fn an_unset_or_empty_configured_token_verifies_nothing() {
        let query = "hub.mode=subscribe&hub.verify_token=&hub.challenge=1";
        for unset in [None, Some("")] {
            assert!(matches!(
                verify_subscription(query, unset),
                Err(AdapterError::Misconfigured(reason)) if reason.contains("verify_token")
            ));
        }
        // Only once the GET is a verification at all.
        assert!(matches!(
            verify_subscription("", None),
            Err(AdapterError::Malformed(_))
        ));
    }

    #[test]
    fn accepts_the_reference_signature() {
        assert_eq!(
            verify_signature(
                &post(&[("X-Hub-Signature-256", BODY_SIGNATURE)], BODY),
                SECRET
            ),
            Ok(())
        );
        let upper = BODY_SIGNATURE.to_ascii_uppercase();
        assert_eq!(
            verify_signature(&post(&[(SIGNATURE_HEADER, &upper)], BODY), SECRET),
            Ok(())
        );
        let signed = testing::Signing::Meta.post(SECRET, BODY);
        assert_eq!(verify_signature(&signed, SECRET), Ok(()));
    }

    #[test]
    fn refuses_unsigned_and_badly_signed_posts() {
        let refusal = |headers: &[(&str, &str)], body: &[u8], secret: &str| {
            testing::unauthorized(verify_signature(&post(headers, body), secret).map(|()| "signed"))
        };
        assert_eq!(
            refusal(&[], BODY, SECRET),
            "the x-hub-signature-256 header is missing"
        );
        let sha1 = "sha1=0dcd6b1d9b3b9d9ab4d93cc8b6b4e8e6c4b0c5b1";
        assert_eq!(
            refusal(&[(LEGACY_SIGNATURE_HEADER, sha1)], BODY, SECRET),
            "the x-hub-signature-256 header is missing; the legacy SHA-1 x-hub-signature alone \
             is not accepted"
        );
        let tampered = br#"{"object":"whatsapp_business_account","entry":[ ]}"#;
        assert_eq!(
            refusal(&[(SIGNATURE_HEADER, BODY_SIGNATURE)], tampered, SECRET),
            "x-hub-signature-256: the signature does not match the body and secret"
        );
        assert_eq!(
            refusal(
                &[(SIGNATURE_HEADER, BODY_SIGNATURE)],
                BODY,
                "another-secret"
            ),
            "x-hub-signature-256: the signature does not match the body and secret"
        );
        for bad in ["sha256=zz", "sha256=3c6c17ae-not-hex"] {
            assert_eq!(
                refusal(&[(SIGNATURE_HEADER, bad)], BODY, SECRET),
                "x-hub-signature-256: the signature is not valid hex",
                "{bad}"
            );
        }
        assert!(refusal(&[(SIGNATURE_HEADER, "sha256=")], BODY, SECRET).contains("does not match"));
        // The base64 form of the right digest (other platforms' encoding) is not Meta's.
        let base64 = signature::sign_base64(SECRET.as_bytes(), BODY);
        assert!(refusal(&[(SIGNATURE_HEADER, &base64)], BODY, SECRET).contains("not valid hex"));
    }

    #[test]
    fn other_methods_are_malformed() {
        assert!(
            matches!(unsupported_method("PUT"), AdapterError::Malformed(r) if r.contains("PUT"))
        );
    }
}
