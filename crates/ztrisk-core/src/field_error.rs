/// A problem with one field of a request body, located by a JSON pointer (RFC 6901).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub pointer: String,
    pub message: String,
}

impl FieldError {
    pub fn new(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            pointer: pointer.into(),
            message: message.into(),
        }
    }
}

/// Appends `segment` to a JSON pointer, escaping `~` and `/` as RFC 6901 requires, so that an
/// invalid id such as `a/b` still yields a pointer that resolves to it.
pub fn pointer_join(base: &str, segment: &str) -> String {
    let escaped = segment.replace('~', "~0").replace('/', "~1");
    format!("{base}/{escaped}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_segments() {
        assert_eq!(pointer_join("/behaviors", "a/b~c"), "/behaviors/a~1b~0c");
        assert_eq!(pointer_join("", "behaviors"), "/behaviors");
    }
}
