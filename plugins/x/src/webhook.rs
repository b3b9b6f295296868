//! The webhook endpoint: the CRC handshake on GET, signed event deliveries on POST.

use switchboard_sdk::{AdapterError, WebhookOutcome, WebhookRequest, http, signature};

use crate::inbound;

/// X signs every event POST in this header: `sha256=<base64 HMAC-SHA256(consumer secret, body)>`.
const SIGNATURE_HEADER: &str = "x-twitter-webhooks-signature";

/// Answer one request to the integration's webhook URL.
pub fn handle(
    req: &WebhookRequest,
    consumer_secret: &str,
    account_id: &str,
) -> Result<WebhookOutcome, AdapterError> {
    match req.method.as_str() {
        "GET" => crc_answer(&req.query, consumer_secret),
        "POST" => {
            verify_signature(req, consumer_secret)?;
            Ok(WebhookOutcome {
                response: http::empty_response(200),
                events: inbound::decode(&req.body, account_id)?,
            })
        }
        other => Err(AdapterError::Malformed(format!(
            "X sends GET (CRC check) and POST (events) only, not {other}"
        ))),
    }
}

/// The longest `crc_token` answered. X's tokens are short random strings (tens of characters).
pub const MAX_CRC_TOKEN_LEN: usize = 128;

/// X proves we hold the consumer secret by sending `GET ?crc_token=…` (when the webhook is
/// registered and then periodically); a wrong answer marks the webhook invalid and stops events.
/// The HMAC covers only `crc_token`; the `nonce` X sometimes adds is not part of it.
///
/// The answer is `HMAC-SHA256(consumer secret, token)`, exactly what X puts in
/// `x-twitter-webhooks-signature` over a POST body. Answered for any token, it would sign any
/// body an attacker sends as the token (a *signing oracle*), and the forged POST would pass.
/// So only tokens of the shape X sends are answered: at most [`MAX_CRC_TOKEN_LEN`] base64
/// characters (`A-Z a-z 0-9 - _ + /`, `=` padding at the end). An event body is JSON, which
/// needs `{` and `"`, so no body the adapter would accept can ever be signed here.
fn crc_answer(query: &str, consumer_secret: &str) -> Result<WebhookOutcome, AdapterError> {
    let token = http::query_param(query, "crc_token")
        .filter(|token| !token.is_empty())
        .ok_or_else(|| {
            AdapterError::Malformed(
                "a GET must carry `crc_token` (X's CRC check); events arrive by POST".into(),
            )
        })?;
    check_crc_token(&token)?;
    let response_token = signature::sign_base64(consumer_secret.as_bytes(), token.as_bytes());
    Ok(WebhookOutcome {
        response: http::json_response(
            200,
            &serde_json::json!({ "response_token": response_token }),
        ),
        events: Vec::new(),
    })
}

/// Refuses a `crc_token` that is not a short base64 string (see [`crc_answer`]).
fn check_crc_token(token: &str) -> Result<(), AdapterError> {
    if token.len() > MAX_CRC_TOKEN_LEN {
        return Err(AdapterError::Malformed(format!(
            "`crc_token` is {} bytes long; X's CRC tokens are at most {MAX_CRC_TOKEN_LEN}",
            token.len()
        )));
    }
    let body = token.trim_end_matches('=');
    let padding = token.len() - body.len();
    let base64 = body
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'+' | b'/'));
    if !base64 || padding > 2 || body.is_empty() {
        return Err(AdapterError::Malformed(
            "`crc_token` must be a base64 string (A-Z, a-z, 0-9, `-`, `_`, `+`, `/`, `=` padding) \
             as X sends; nothing else is signed"
                .into(),
        ));
    }
    Ok(())
}

/// The signature covers the raw body bytes; anything re-serialized would not match.
fn verify_signature(req: &WebhookRequest, consumer_secret: &str) -> Result<(), AdapterError> {
    let value = http::header(&req.headers, SIGNATURE_HEADER).ok_or_else(|| {
        AdapterError::Unauthorized(format!("the {SIGNATURE_HEADER} header is missing"))
    })?;
    signature::verify_base64(consumer_secret.as_bytes(), &req.body, value)
        .map_err(|e| AdapterError::Unauthorized(format!("{SIGNATURE_HEADER}: {e}")))
}

#[cfg(test)]
mod tests {
    use switchboard_sdk::InboundEvent;
    use switchboard_sdk::testing::{Signing, webhook_request as request};

    use super::*;

    // The CRC and body-signature test vectors of the wire-format reference (§1.1, §1.2).
    const SECRET: &str = "fixture-consumer-secret";
    const ACCOUNT: &str = "1500000000000000001";
    const SIGNED_BODY: &[u8] =
        br#"{"for_user_id":"1500000000000000001","direct_message_events":[]}"#;
    const BODY_SIGNATURE: &str = "sha256=H6uCFNjmOrvcve7O/goS2xoqLmNF6grbokClLZswKqg=";

    fn refusal(result: Result<WebhookOutcome, AdapterError>) -> AdapterError {
        result.expect_err("the request should be refused")
    }

    #[test]
    fn answers_the_crc_check() {
        let query = "crc_token=crc-7f3a9c21-0b4e-4d2a-9e55-1c2d3e4f5a6b&nonce=MTc5OTAwMDAwMDAwMA";
        let outcome = handle(&request("GET", query, &[], b""), SECRET, ACCOUNT).unwrap();
        assert_eq!(outcome.response.status, 200);
        assert_eq!(
            outcome.response.body,
            br#"{"response_token":"sha256=XdBiQu5rh/HAC6KexTvJl7Ysd32Wx0gNeD0e4VzHHKg="}"#
        );
        assert!(outcome.events.is_empty());
    }

    #[test]
    fn answers_base64_shaped_tokens_only() {
        for token in [
            "abc",
            "ZjBjNjVmZTgtMjE1Ni00YjhkLWE5YjctYjZmMzRhNzI3YjBl",
            "a+b/c==",
            "x_y-z",
        ] {
            let query = format!(
                "crc_token={}",
                token.replace('+', "%2B").replace('/', "%2F")
            );
            let outcome = handle(&request("GET", &query, &[], b""), SECRET, ACCOUNT).unwrap();
            assert_eq!(outcome.response.status, 200, "{token}");
        }
        // A whole event body as the token would come back signed: refused, as are long tokens,
        // spaces and padding in the middle.
        let body = "%7B%22for_user_id%22%3A%221500000000000000001%22%2C%22direct_message_events%22%3A%5B%5D%7D";
        let long = "a".repeat(MAX_CRC_TOKEN_LEN + 1);
        for query in [
            format!("crc_token={body}"),
            format!("crc_token={long}"),
            "crc_token=a+b".to_string(),
            "crc_token=ab%3Dcd".to_string(),
            "crc_token=%3D%3D".to_string(),
        ] {
            let error = refusal(handle(&request("GET", &query, &[], b""), SECRET, ACCOUNT));
            assert!(
                matches!(&error, AdapterError::Malformed(reason) if reason.contains("crc_token")),
                "{query}: {error:?}"
            );
        }
    }

    #[test]
    fn a_get_without_crc_token_is_malformed() {
        let error = refusal(handle(
            &request("GET", "nonce=1", &[], b""),
            SECRET,
            ACCOUNT,
        ));
        assert!(matches!(error, AdapterError::Malformed(reason) if reason.contains("crc_token")));
    }

    #[test]
    fn accepts_a_signed_post_with_an_empty_body() {
        let req = request(
            "POST",
            "",
            &[(SIGNATURE_HEADER, BODY_SIGNATURE)],
            SIGNED_BODY,
        );
        let outcome = handle(&req, SECRET, ACCOUNT).unwrap();
        assert_eq!(outcome.response.status, 200);
        assert!(outcome.response.body.is_empty());
        assert!(outcome.events.is_empty());
    }

    #[test]
    fn checks_the_signature_over_the_raw_body() {
        let body = include_bytes!("../fixtures/aaa-message.json");
        let req = Signing::X.post(SECRET, body);
        let events = handle(&req, SECRET, ACCOUNT).unwrap().events;
        assert!(matches!(events.as_slice(), [InboundEvent::Message(_)]));
    }

    #[test]
    fn refuses_unsigned_and_badly_signed_posts() {
        let missing = refusal(handle(
            &request("POST", "", &[], SIGNED_BODY),
            SECRET,
            ACCOUNT,
        ));
        assert_eq!(
            missing,
            AdapterError::Unauthorized("the x-twitter-webhooks-signature header is missing".into())
        );

        let tampered = br#"{"for_user_id":"1500000000000000002","direct_message_events":[]}"#;
        let req = request("POST", "", &[(SIGNATURE_HEADER, BODY_SIGNATURE)], tampered);
        assert_eq!(
            refusal(handle(&req, SECRET, ACCOUNT)),
            AdapterError::Unauthorized(
                "x-twitter-webhooks-signature: the signature does not match the body and secret"
                    .into()
            )
        );

        let req = request(
            "POST",
            "",
            &[(SIGNATURE_HEADER, BODY_SIGNATURE)],
            SIGNED_BODY,
        );
        assert!(matches!(
            refusal(handle(&req, "another-secret", ACCOUNT)),
            AdapterError::Unauthorized(_)
        ));

        let req = request("POST", "", &[(SIGNATURE_HEADER, "sha256=%%%")], SIGNED_BODY);
        assert_eq!(
            refusal(handle(&req, SECRET, ACCOUNT)),
            AdapterError::Unauthorized(
                "x-twitter-webhooks-signature: the signature is not valid base64".into()
            )
        );
    }

    #[test]
    fn other_methods_are_malformed() {
        let error = refusal(handle(&request("PUT", "", &[], b""), SECRET, ACCOUNT));
        assert!(matches!(error, AdapterError::Malformed(_)));
    }
}
