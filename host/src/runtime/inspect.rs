//! What a component file is, read from its bytes without compiling it: the world it
//! implements, its top-level imports and exports, and its manifest. `switchboard plugin
//! inspect` prints this before it loads the component the way the host would.

use super::detect;
use super::manifest::{self, Manifest};

/// The outline of a component.
#[derive(Debug, Clone)]
pub struct Outline {
    /// `switchboard:channel/adapter@0.2.0`, `switchboard:flow/bot-plugin@0.1.0`, ... or `None`
    /// when the exports match no Switchboard world.
    pub world: Option<String>,
    pub imports: Vec<String>,
    pub exports: Vec<String>,
    pub manifest: Option<Manifest>,
}

/// Reads the outline of the component in `bytes`.
pub fn outline(bytes: &[u8]) -> Result<Outline, String> {
    let mut imports = Vec::new();
    let mut exports = Vec::new();
    let mut depth = 0usize;
    let mut is_component = false;
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(|e| format!("it is not a valid Wasm binary: {e}"))?;
        match payload {
            wasmparser::Payload::Version { encoding, .. } => {
                if depth == 0 {
                    is_component = encoding == wasmparser::Encoding::Component;
                }
                depth += 1;
            }
            wasmparser::Payload::End(_) => depth = depth.saturating_sub(1),
            wasmparser::Payload::ComponentImportSection(section) if depth == 1 => {
                for import in section {
                    let import = import.map_err(|e| format!("bad import section: {e}"))?;
                    imports.push(import.name.name.to_string());
                }
            }
            wasmparser::Payload::ComponentExportSection(section) if depth == 1 => {
                for export in section {
                    let export = export.map_err(|e| format!("bad export section: {e}"))?;
                    exports.push(export.name.name.to_string());
                }
            }
            _ => {}
        }
    }
    if !is_component {
        return Err(
            "it is a core Wasm module, not a component: build for `wasm32-wasip2` (Rust), or \
             run it through componentize-js, componentize-py or `wasm-tools component new`"
                .into(),
        );
    }
    Ok(Outline {
        world: detect::name_world(&exports),
        imports,
        exports,
        manifest: manifest::read(bytes)?,
    })
}
