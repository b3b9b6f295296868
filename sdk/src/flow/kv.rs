//! The plugin's private key-value store, kept by the host across calls and restarts. Only this
//! plugin sees its keys; an admin can seed them (answers, a directory, a base URL...).
//!
//! Natively (in a plugin's unit tests) the store is an in-memory map private to the thread, so
//! tests can seed it with [`set`] and run the plugin's logic against it.

#[cfg(target_arch = "wasm32")]
use super::wit_bot::switchboard::flow::kv as host;

/// The value of `key`, if set.
pub fn get(key: &str) -> Option<String> {
    #[cfg(target_arch = "wasm32")]
    return host::get(key);
    #[cfg(not(target_arch = "wasm32"))]
    return native::with(|m| m.get(key).cloned());
}

/// Sets `key` to `value` (values are at most 1 MiB, keys 1 KiB).
pub fn set(key: &str, value: &str) {
    #[cfg(target_arch = "wasm32")]
    host::set(key, value);
    #[cfg(not(target_arch = "wasm32"))]
    native::with(|m| m.insert(key.to_string(), value.to_string()));
}

/// Removes `key` (nothing happens when it is not set).
pub fn delete(key: &str) {
    #[cfg(target_arch = "wasm32")]
    host::delete(key);
    #[cfg(not(target_arch = "wasm32"))]
    native::with(|m| m.remove(key));
}

/// The keys starting with `prefix`, sorted.
pub fn list_keys(prefix: &str) -> Vec<String> {
    #[cfg(target_arch = "wasm32")]
    return host::list_keys(prefix);
    #[cfg(not(target_arch = "wasm32"))]
    return native::with(|m| {
        m.keys()
            .filter(|k| k.starts_with(prefix))
            .cloned()
            .collect()
    });
}

/// Reads `key` as JSON; `None` when it is unset or not valid JSON for `T`.
pub fn get_json<T: serde::de::DeserializeOwned>(key: &str) -> Option<T> {
    get(key).and_then(|v| serde_json::from_str(&v).ok())
}

/// Stores `value` as JSON under `key`.
pub fn set_json<T: serde::Serialize + ?Sized>(key: &str, value: &T) {
    let text = serde_json::to_string(value).expect("a serializable value");
    set(key, &text);
}

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::cell::RefCell;
    use std::collections::BTreeMap;

    thread_local! {
        static STORE: RefCell<BTreeMap<String, String>> = const { RefCell::new(BTreeMap::new()) };
    }

    pub fn with<R>(f: impl FnOnce(&mut BTreeMap<String, String>) -> R) -> R {
        STORE.with(|s| f(&mut s.borrow_mut()))
    }
}
