//! The customer as flows (and canned responses) see them: `customer.name`, `customer.handle`...

use serde_json::{Value, json};

use crate::events::Profile;

/// `customer` as flows see it.
pub fn customer_value(id: &str, profile: &Profile) -> Value {
    json!({
        "id": id,
        "name": profile.display_name,
        "handle": profile.handle,
        "verified": profile.verified,
        "followers": profile.followers,
        "posts": profile.posts,
        "email": profile.email,
    })
}
