//! Built components changed in their bytes but not in their behaviour, for hot-swap tests that
//! need "a new version" of an adapter.

/// `component` with one more custom section: Wasm ignores it, so the component behaves the
/// same, but its bytes (and hash) differ.
pub fn with_custom_section(mut component: Vec<u8>, name: &str, data: &[u8]) -> Vec<u8> {
    let mut payload = vec![name.len() as u8];
    payload.extend_from_slice(name.as_bytes());
    payload.extend_from_slice(data);
    component.push(0); // custom section
    let mut size = payload.len();
    loop {
        let byte = (size & 0x7f) as u8;
        size >>= 7;
        component.push(if size == 0 { byte } else { byte | 0x80 });
        if size == 0 {
            break;
        }
    }
    component.extend_from_slice(&payload);
    component
}

/// The same component as a new version (and hash) that behaves the same.
pub fn as_new_version(component: Vec<u8>, tag: &str) -> Vec<u8> {
    with_custom_section(component, "switchboard-test-version", tag.as_bytes())
}
