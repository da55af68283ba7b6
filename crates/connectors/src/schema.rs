//! JSON Schemas of the settings types, generated from the types themselves (their fields, serde
//! attributes and doc comments, through utoipa's derive), so `vigil schema` and the configuration
//! reference cannot drift from what vigil reads.

use serde_json::{Map, Value};

/// A settings type's schema as JSON Schema 2020-12, and the schemas it refers to, for `$defs`.
pub fn json_schema<T: utoipa::ToSchema>() -> (Value, Map<String, Value>) {
    let mut schema = serde_json::to_value(T::schema()).expect("a schema serializes");
    let mut nested = Vec::new();
    T::schemas(&mut nested);
    let mut defs = Map::new();
    for (name, def) in nested {
        let mut def = serde_json::to_value(def).expect("a schema serializes");
        rebase_refs(&mut def);
        defs.insert(name, def);
    }
    rebase_refs(&mut schema);
    (schema, defs)
}

/// OpenAPI's `#/components/schemas/X` references, as a JSON Schema's `#/$defs/X`.
fn rebase_refs(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get_mut("$ref")
                && let Some(name) = target.strip_prefix("#/components/schemas/")
            {
                *target = format!("#/$defs/{name}");
            }
            map.values_mut().for_each(rebase_refs);
        }
        Value::Array(items) => items.iter_mut().for_each(rebase_refs),
        _ => {}
    }
}

/// A settings schema's fields as reference rows: (name, type, required, description).
pub fn fields(schema: &Value, defs: &Map<String, Value>) -> Vec<(String, String, bool, String)> {
    let required: Vec<&str> = schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let Some(properties) = schema["properties"].as_object() else { return Vec::new() };
    properties
        .iter()
        .map(|(name, field)| {
            // An optional enum's description sits on its reference, inside `oneOf`.
            let described = std::iter::once(field)
                .chain(field["oneOf"].as_array().into_iter().flatten())
                .find_map(|f| f["description"].as_str());
            let description = described.unwrap_or_default().replace('\n', " ");
            (name.clone(), type_of(field, defs), required.contains(&name.as_str()), description)
        })
        .collect()
}

/// A field's type as people read it: `string`, `list of string`, `map`, `any`, an enum's values.
fn type_of(field: &Value, defs: &Map<String, Value>) -> String {
    if let Some(target) = field["$ref"].as_str() {
        let name = target.trim_start_matches("#/$defs/");
        return defs.get(name).map_or_else(|| name.to_string(), |def| type_of(def, defs));
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(choices) = field[key].as_array() {
            let named: Vec<String> = choices.iter().map(|c| type_of(c, defs)).filter(|t| t != "null").collect();
            return named.join(" or ");
        }
    }
    if let Some(values) = field["enum"].as_array() {
        let values: Vec<String> =
            values.iter().filter(|v| !v.is_null()).map(|v| format!("`{}`", v.as_str().unwrap_or_default())).collect();
        return values.join(", ");
    }
    let kinds: Vec<&str> = match &field["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).filter(|t| *t != "null").collect(),
        _ => return "any".into(),
    };
    kinds
        .iter()
        .map(|kind| match *kind {
            "array" => format!("list of {}", type_of(&field["items"], defs)),
            "object" => "map".to_string(),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" or ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The schema is the type's: its fields, camelCase names, doc comments, what is required, and
    /// no field beyond them.
    #[test]
    fn a_sources_schema_comes_from_its_settings_type() {
        let (schema, defs) = json_schema::<crate::sources::influxdb::InfluxConfig>();
        assert_eq!(schema["additionalProperties"], Value::Bool(false), "{schema}");
        let rows = fields(&schema, &defs);
        let row = |name: &str| rows.iter().find(|r| r.0 == name).unwrap_or_else(|| panic!("{name}: {rows:?}"));
        assert_eq!((row("url").1.as_str(), row("url").2), ("string", true));
        assert!(!row("retentionPolicy").2);
        assert!(row("url").3.contains("Server"), "{:?}", row("url"));
        assert_eq!(row("language").1, "`influxql`, `flux`");
        assert!(row("language").3.starts_with("`influxql` or `flux`"), "{:?}", row("language"));
    }
}
