//! Reading an answer: the `{success, errors, messages, result}` envelope as any server may
//! send it, into a result or an [`Error`].

use crate::error::{ApiError, Error};
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use ztrisk_types::{ErrorItem, ResultInfo};

/// A `result` with the paging information that came with it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Paged<T> {
    /// The envelope's `result`.
    pub result: T,
    /// The envelope's `result_info`, when the server sent it (paged requests).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_info: Option<ResultInfo>,
}

/// The envelope as any server may send it: every field optional, lists possibly `null`.
#[derive(Deserialize)]
struct RawEnvelope<T> {
    #[serde(default)]
    success: Option<bool>,
    #[serde(default)]
    errors: Value,
    #[serde(default)]
    messages: Value,
    result: Option<T>,
    #[serde(default)]
    result_info: Value,
}

pub(super) fn decode<T: DeserializeOwned>(
    method: &Method,
    url: &str,
    status: u16,
    headers: &HeaderMap,
    bytes: &[u8],
) -> Result<Paged<T>, Error> {
    let refused = |envelope: Option<RawEnvelope<serde::de::IgnoredAny>>| {
        let (errors, messages, body) = match envelope {
            Some(e) => (items(&e.errors), items(&e.messages), None),
            None => (Vec::new(), Vec::new(), Some(snippet(bytes))),
        };
        let request_id = ["x-request-id", "cf-ray"].iter().find_map(|name| {
            headers
                .get(*name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        });
        Error::Api(Box::new(ApiError {
            status,
            method: method.to_string(),
            url: url.to_owned(),
            errors,
            messages,
            request_id,
            body,
        }))
    };
    if !(200..300).contains(&status) {
        return Err(refused(serde_json::from_slice(bytes).ok()));
    }
    match serde_json::from_slice::<RawEnvelope<T>>(bytes) {
        Ok(envelope) if envelope.success == Some(false) => Err(refused(Some(RawEnvelope {
            success: envelope.success,
            errors: envelope.errors,
            messages: envelope.messages,
            result: None,
            result_info: Value::Null,
        }))),
        Ok(envelope) => match envelope
            .result
            .map(Ok)
            // A `null` or absent result suits the types that accept `null` (lists, `()`).
            .unwrap_or_else(|| T::deserialize(Value::Null))
        {
            Ok(result) => Ok(Paged {
                result,
                result_info: result_info(&envelope.result_info),
            }),
            Err(_) => Err(Error::Decode {
                url: url.to_owned(),
                status,
                message: "the response has no `result`".into(),
                body: snippet(bytes),
            }),
        },
        Err(e) => {
            // A `success: false` envelope whose result does not fit is still a refusal.
            if let Ok(envelope) =
                serde_json::from_slice::<RawEnvelope<serde::de::IgnoredAny>>(bytes)
                && envelope.success == Some(false)
            {
                return Err(refused(Some(envelope)));
            }
            Err(Error::Decode {
                url: url.to_owned(),
                status,
                message: e.to_string(),
                body: snippet(bytes),
            })
        }
    }
}

/// Error or message items, tolerating `null`, plain strings and odd shapes.
fn items(value: &Value) -> Vec<ErrorItem> {
    let Value::Array(list) = value else {
        return Vec::new();
    };
    list.iter()
        .map(|item| {
            ErrorItem::deserialize(item).unwrap_or_else(|_| match item {
                Value::String(text) => ErrorItem::new(0, text.clone()),
                Value::Object(map) => {
                    let code = match map.get("code") {
                        Some(Value::Number(n)) => n.as_u64(),
                        Some(Value::String(s)) => s.parse().ok(),
                        _ => None,
                    };
                    let message = map
                        .get("message")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                        .unwrap_or_else(|| item.to_string());
                    ErrorItem::new(
                        code.and_then(|c| u32::try_from(c).ok()).unwrap_or(0),
                        message,
                    )
                }
                other => ErrorItem::new(0, other.to_string()),
            })
        })
        .collect()
}

/// `result_info` with missing counts read as 0; `None` when absent or not an object.
fn result_info(value: &Value) -> Option<ResultInfo> {
    let map = value.as_object()?;
    let number = |name: &str| map.get(name).and_then(Value::as_u64).unwrap_or(0);
    Some(ResultInfo {
        page: u32::try_from(number("page")).unwrap_or(u32::MAX),
        per_page: u32::try_from(number("per_page")).unwrap_or(u32::MAX),
        count: number("count"),
        total_count: number("total_count"),
        total_pages: number("total_pages"),
    })
}

/// The start of a body, as text, for error messages.
fn snippet(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut end = text.len().min(500);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_error_items() {
        let parsed = items(&serde_json::json!([
            "plain text",
            {"code": "1001", "message": 5},
            {"code": 7003, "message": "Could not route"},
            null
        ]));
        assert_eq!(parsed[0], ErrorItem::new(0, "plain text"));
        assert_eq!(parsed[1].code, 1001);
        assert_eq!(parsed[2], ErrorItem::new(7003, "Could not route"));
        assert_eq!(parsed.len(), 4);
        assert!(items(&Value::Null).is_empty());
        assert_eq!(
            result_info(&serde_json::json!({"page": 2})).map(|i| i.page),
            Some(2)
        );
        assert_eq!(result_info(&Value::Null), None);
    }
}
