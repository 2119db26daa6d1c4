//! A manifest object's fields, read with errors in the manifest's words ("`port` must be ...,
//! not a string"), never the parser's types.

use serde_json::{Map, Value};

/// What a JSON value is, in a user's words.
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "true or false",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

pub(crate) fn known_fields(
    fields: &Map<String, Value>,
    known: &[&str],
    what: &str,
) -> Result<(), String> {
    match fields.keys().find(|key| !known.contains(&key.as_str())) {
        Some(key) => Err(format!(
            "unknown field `{}`; {what} has `{}`",
            key.escape_default(),
            known.join("`, `")
        )),
        None => Ok(()),
    }
}

pub(crate) fn required_string<'a>(
    fields: &'a Map<String, Value>,
    field: &str,
) -> Result<&'a str, String> {
    optional_string(fields, field)?.ok_or_else(|| format!("missing field `{field}`"))
}

pub(crate) fn optional_string<'a>(
    fields: &'a Map<String, Value>,
    field: &str,
) -> Result<Option<&'a str>, String> {
    match fields.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(format!("`{field}` must be a string, not {}", kind(other))),
    }
}

/// A list of strings, `what` in the error.
pub(crate) fn optional_strings(
    fields: &Map<String, Value>,
    field: &str,
    what: &str,
) -> Result<Option<Vec<String>>, String> {
    let items = match fields.get(field) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(format!(
                "`{field}` must be a list of {what}, not {}",
                kind(other)
            ))
        }
    };
    items
        .iter()
        .map(|item| match item {
            Value::String(s) => Ok(s.clone()),
            other => Err(format!(
                "`{field}` must be a list of {what}, and holds {}",
                kind(other)
            )),
        })
        .collect::<Result<_, _>>()
        .map(Some)
}
