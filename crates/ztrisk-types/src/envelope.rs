use serde::{Deserialize, Serialize};

/// The body of every response: `{"success", "errors", "messages", "result"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope<T> {
    pub success: bool,
    #[serde(default)]
    pub errors: Vec<ErrorItem>,
    #[serde(default)]
    pub messages: Vec<ErrorItem>,
    pub result: Option<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_info: Option<ResultInfo>,
}

impl<T> Envelope<T> {
    /// A successful response carrying `result`.
    pub fn ok(result: T) -> Self {
        Self {
            success: true,
            errors: Vec::new(),
            messages: Vec::new(),
            result: Some(result),
            result_info: None,
        }
    }

    /// A failed response: `result` is `null`.
    pub fn failure(errors: Vec<ErrorItem>) -> Self {
        Self {
            success: false,
            errors,
            messages: Vec::new(),
            result: None,
            result_info: None,
        }
    }
}

/// One entry of `errors` or `messages`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorItem {
    pub code: u32,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documentation_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ErrorSource>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub error_chain: Vec<ErrorChainItem>,
}

impl ErrorItem {
    pub fn new(code: u32, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            documentation_url: None,
            source: None,
            error_chain: Vec::new(),
        }
    }

    /// Attaches the JSON pointer of the request field at fault.
    pub fn with_pointer(mut self, pointer: impl Into<String>) -> Self {
        self.source = Some(ErrorSource {
            pointer: pointer.into(),
        });
        self
    }

    /// Attaches the more specific cause Cloudflare reports in `error_chain`.
    pub fn with_chain(mut self, code: u32, message: impl Into<String>) -> Self {
        self.error_chain.push(ErrorChainItem {
            code,
            message: message.into(),
        });
        self
    }
}

/// `source` of an error item: where in the request body the problem is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorSource {
    pub pointer: String,
}

/// A nested cause, as Cloudflare sends for header errors (code 6003).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorChainItem {
    pub code: u32,
    pub message: String,
}

/// Paging information of a paged collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResultInfo {
    pub page: u32,
    pub per_page: u32,
    pub count: u64,
    pub total_count: u64,
    pub total_pages: u64,
}
