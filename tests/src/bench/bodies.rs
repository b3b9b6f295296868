//! X DM webhooks built and signed before a run's timing starts, so the driver spends its share
//! of the CPU (shared with the host) on HTTP only.
//!
//! Every body is a new DM (its own event id) from a new customer (its own sender id), so the
//! host cannot take a shortcut through deduplication or an existing conversation: each one runs
//! the whole path, flow included.

use std::ops::Range;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use hyper::header::HeaderValue;

use super::customers::Customers;
use crate::fixtures::{self, XDm};
use crate::signing;

/// The text every bench customer writes.
pub const TEXT: &str = "Hello, I would like to know where my parcel is.";

/// One pre-built webhook: whose it is, the body and its `x-twitter-webhooks-signature`.
pub struct Signed {
    pub customer: u64,
    pub body: Bytes,
    pub signature: HeaderValue,
}

/// Builds and signs webhooks for one X account.
#[derive(Debug, Clone)]
pub struct Signer {
    pub consumer_secret: String,
    /// The subscribed account (`for_user_id`).
    pub account_id: String,
}

impl Signer {
    /// The webhook of `customer`'s first DM.
    pub fn sign(&self, customer: u64, created_ms: u64) -> Signed {
        let sender_id = Customers::user_id(customer).to_string();
        let body = fixtures::x_dm(&XDm {
            for_user_id: self.account_id.clone(),
            event_id: Customers::event_id(customer).to_string(),
            screen_name: format!("bench_{customer}"),
            sender_id,
            name: "Bench Customer".into(),
            text: TEXT.into(),
            created_ms,
            ..XDm::default()
        });
        let signature = signing::x_signature(&self.consumer_secret, &body);
        Signed {
            customer,
            body: Bytes::from(body),
            signature: HeaderValue::from_str(&signature)
                .expect("sha256=<base64> is a valid header value"),
        }
    }

    /// The webhooks of `customers`, in order.
    pub fn sign_all(&self, customers: Range<u64>) -> Arc<[Signed]> {
        let created_ms = fixtures::unix_millis(SystemTime::now());
        customers.map(|c| self.sign(c, created_ms)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_body_is_a_new_customer_and_verifies() {
        let signer = Signer {
            consumer_secret: "s".into(),
            account_id: "1500000000000000001".into(),
        };
        let signed = signer.sign_all(7..9);
        assert_eq!(signed.len(), 2);
        let body: serde_json::Value = serde_json::from_slice(&signed[1].body).unwrap();
        let event = &body["direct_message_events"][0];
        assert_eq!(event["id"], "1900000000000000008");
        assert_eq!(event["message_create"]["sender_id"], "1700000000000000008");
        assert_eq!(signed[1].customer, 8);
        assert_eq!(
            signed[0].signature.to_str().unwrap(),
            signing::x_signature("s", &signed[0].body)
        );
    }
}
