//! A request before it is sent: method, path, query and body, and how ids become path
//! segments.

use crate::error::Error;
use bytes::Bytes;
use reqwest::Method;
use serde::Serialize;

/// A request to send: method, path below the base URL, query and body.
pub(crate) struct Request {
    pub(super) method: Method,
    path: String,
    query: Vec<(&'static str, String)>,
    pub(super) body: Option<Body>,
}

pub(super) struct Body {
    pub(super) bytes: Bytes,
    pub(super) content_type: &'static str,
    /// How `bytes` are compressed (`gzip`), sent as `Content-Encoding`; `None` when plain.
    pub(super) content_encoding: Option<&'static str>,
}

impl Request {
    pub(crate) fn new(method: Method, path: String) -> Self {
        Self {
            method,
            path,
            query: Vec::new(),
            body: None,
        }
    }

    pub(crate) fn query(mut self, name: &'static str, value: Option<String>) -> Self {
        if let Some(value) = value {
            self.query.push((name, value));
        }
        self
    }

    /// `page` and `per_page`, when given.
    pub(crate) fn paging(self, page: Option<u32>, per_page: Option<u32>) -> Self {
        self.query("page", page.map(|p| p.to_string()))
            .query("per_page", per_page.map(|p| p.to_string()))
    }

    pub(crate) fn json<B: Serialize + ?Sized>(self, body: &B) -> Result<Self, Error> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| Error::InvalidParameter(format!("cannot encode the body: {e}")))?;
        Ok(self.body(bytes.into(), "application/json"))
    }

    pub(crate) fn body(mut self, bytes: Bytes, content_type: &'static str) -> Self {
        self.body = Some(Body {
            bytes,
            content_type,
            content_encoding: None,
        });
        self
    }

    /// A body already compressed with `content_encoding` (`gzip`): the server decompresses it
    /// before reading it as `content_type`.
    pub(crate) fn encoded_body(
        self,
        bytes: Bytes,
        content_type: &'static str,
        content_encoding: &'static str,
    ) -> Self {
        let mut request = self.body(bytes, content_type);
        if let Some(body) = &mut request.body {
            body.content_encoding = Some(content_encoding);
        }
        request
    }

    pub(super) fn url(&self, base: &str) -> String {
        let mut url = format!("{base}{}", self.path);
        for (i, (name, value)) in self.query.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(name);
            url.push('=');
            url.push_str(&encode(value));
        }
        url
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// An id as one path segment: refused when empty (it would change the route), encoded
/// otherwise.
pub(crate) fn segment(name: &str, value: &str) -> Result<String, Error> {
    if value.is_empty() {
        return Err(Error::InvalidParameter(format!(
            "expected a non-empty value for `{name}`"
        )));
    }
    Ok(encode(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_and_queries() {
        assert_eq!(
            segment("reference_id", "a b/c?").unwrap_or_default(),
            "a%20b%2Fc%3F"
        );
        assert!(segment("account_id", "").is_err());
        let request = Request::new(Method::GET, "/x".into())
            .query("page", Some("2".into()))
            .query("order_by", None)
            .query("direction", Some("asc".into()));
        assert_eq!(
            request.url("http://h/v4"),
            "http://h/v4/x?page=2&direction=asc"
        );
    }
}
