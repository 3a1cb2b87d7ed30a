use crate::Client;
use crate::client::Request;
use crate::error::Error;
use crate::types::TokenVerifyResult;
use reqwest::Method;

/// The caller's own resources (`client.user()`).
#[derive(Debug, Clone, Copy)]
pub struct User<'a> {
    client: &'a Client,
}

impl<'a> User<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// API tokens: `user().tokens().verify()`.
    pub fn tokens(&self) -> Tokens<'a> {
        Tokens {
            client: self.client,
        }
    }
}

/// API tokens (`client.user().tokens()`).
#[derive(Debug, Clone, Copy)]
pub struct Tokens<'a> {
    client: &'a Client,
}

impl Tokens<'_> {
    /// Checks the client's API token (GET `/user/tokens/verify`): its id, status and expiry.
    /// A global API key is refused (403).
    pub async fn verify(&self) -> Result<TokenVerifyResult, Error> {
        self.client
            .result(Request::new(Method::GET, "/user/tokens/verify".into()))
            .await
    }
}
