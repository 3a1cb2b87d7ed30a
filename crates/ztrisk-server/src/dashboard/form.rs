//! Submitted HTML forms (`application/x-www-form-urlencoded`).

use bytes::Bytes;

/// A form's fields in the order sent; a name may repeat.
#[derive(Debug, Default)]
pub struct Form(Vec<(String, String)>);

impl Form {
    pub fn parse(body: &Bytes) -> Self {
        Self(
            url::form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether a checkbox named `name` was ticked (sent at all).
    pub fn checked(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }

    /// A field trimmed, `None` when absent or blank.
    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_fields_and_checkboxes() {
        let form = Form::parse(&Bytes::from_static(b"a=1+2&b=%26x&on=on&blank=+"));
        assert_eq!(form.get("a"), Some("1 2"));
        assert_eq!(form.get("b"), Some("&x"));
        assert!(form.checked("on") && !form.checked("off"));
        assert_eq!(form.text("blank"), None);
    }
}
