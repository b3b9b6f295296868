//! The JSON Schema of flow files, generated from the flow model (`model.rs`) by `schemars`, so
//! the schema editors check against and the model the engine reads cannot drift apart
//! (`switchboard flow schema`; yaml-language-server reads it through a
//! `# yaml-language-server: $schema=...` comment).

use schemars::generate::SchemaSettings;
use serde_json::Value;

use super::model::Flow;

/// The schema's `$id`: where the docs say to save it.
pub const SCHEMA_ID: &str = "https://switchboard.invalid/schemas/flow.schema.json";

/// The JSON Schema (draft 07, which every YAML language server reads) of a flow file.
pub fn schema() -> Value {
    let generator = SchemaSettings::draft07().into_generator();
    let schema = generator.into_root_schema_for::<Flow>();
    let mut value = schema.to_value();
    if let Some(object) = value.as_object_mut() {
        object.insert("$id".into(), Value::String(SCHEMA_ID.into()));
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn print_schema() {
        println!("{}", serde_json::to_string_pretty(&schema()).unwrap());
    }
}
