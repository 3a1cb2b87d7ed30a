//! The one table of error codes: every numeric code the API can answer with, its HTTP status
//! and its message, one row per code (spec 1.4). The server's error type renders these rows;
//! clients and the CLI match on them; nothing else writes a code as a number.

use std::fmt;

macro_rules! codes {
    ($( $(#[$doc:meta])* $name:ident = $number:literal, $status:literal, $message:literal; )*) => {
        /// A Cloudflare API error code, as ztrisk answers it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $( $(#[$doc])* $name, )*
        }

        impl Code {
            /// Every code, in table order.
            pub const ALL: &'static [Code] = &[$(Code::$name),*];

            /// The number sent as `errors[].code`.
            pub const fn number(self) -> u32 {
                match self { $(Code::$name => $number,)* }
            }

            /// The HTTP status an error with this code is sent with. Codes that only appear
            /// inside an `error_chain` carry the status of the error they explain.
            pub const fn http_status(self) -> u16 {
                match self { $(Code::$name => $status,)* }
            }

            /// The message Cloudflare sends with this code (some errors add detail to it).
            pub const fn message(self) -> &'static str {
                match self { $(Code::$name => $message,)* }
            }

            /// The code with this number, if ztrisk knows it.
            pub fn from_number(number: u32) -> Option<Code> {
                match number { $($number => Some(Code::$name),)* _ => None }
            }
        }
    };
}

codes! {
    /// No credentials at all.
    MissingCredentials = 9106, 400, "Missing X-Auth-Key, X-Auth-Email or Authorization headers";
    /// A credential header is malformed; the `error_chain` says which.
    InvalidHeaders = 6003, 400, "Invalid request headers";
    /// (chain of 6003) `Authorization` is not `Bearer <token>`.
    MalformedAuthorization = 6111, 400, "Invalid format for Authorization header";
    /// (chain of 6003) `X-Auth-Email` is not an email.
    MalformedAuthEmail = 6102, 400, "Invalid format for X-Auth-Email header";
    /// (chain of 6003) `X-Auth-Key` is not a key.
    MalformedAuthKey = 6103, 400, "Invalid format for X-Auth-Key header";
    /// Unknown, revoked or expired token; wrong key.
    AuthenticationError = 10000, 403, "Authentication error";
    /// (SSF endpoints, spec 4.5) no valid Bearer API token: 401, as RFC 6750 answers.
    Unauthenticated = 10001, 401, "Authentication required: an API token as a Bearer token";
    /// Valid credentials without access to the account or without the permission.
    Unauthorized = 9109, 403, "Unauthorized to access requested resource";
    /// No route, or a malformed id in the path.
    CouldNotRoute = 7003, 404, "Could not route to the path, perhaps your object identifier is invalid?";
    /// Sent with 7003.
    NoRoute = 7000, 404, "No route for that URI";
    /// A known path with a method it does not serve.
    MethodNotAllowed = 10405, 405, "Method not allowed";
    /// The body is not valid JSON.
    MalformedJson = 6007, 400, "Malformed JSON in request body";
    /// A body sent with a Content-Type that is not JSON.
    UnsupportedContentType = 9207, 400, "Content-type must be application/json.";
    /// The body is over the limit.
    BodyTooLarge = 1413, 413, "Request body too large";
    /// The body did not arrive within the server's body read timeout (a client trickling it).
    RequestTimeout = 1408, 408, "Request timeout";
    /// The request line and headers are over the server's limit.
    HeadersTooLarge = 1431, 431, "Request header fields too large";
    /// A field is missing, of the wrong type or has a bad value (with `source.pointer`).
    InvalidRequest = 1001, 400, "Invalid request";
    /// A well-formed id naming nothing.
    NotFound = 1404, 404, "Not found";
    /// The change conflicts with what exists (a duplicate `reference_id`).
    Conflict = 1409, 409, "Conflict";
    /// Too many requests: wait `Retry-After` seconds.
    RateLimited = 971, 429, "Please wait and consider throttling your request speed";
    /// Anything unexpected; the details are in the server's log under the request id.
    Internal = 1500, 500, "Internal error";
    /// The database does not answer (readiness probe).
    Unavailable = 1503, 503, "Storage unavailable";
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.number())
    }
}

impl From<Code> for u32 {
    fn from(code: Code) -> u32 {
        code.number()
    }
}

impl PartialEq<Code> for u32 {
    fn eq(&self, code: &Code) -> bool {
        *self == code.number()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn numbers_are_unique_and_round_trip() {
        let mut seen = HashSet::new();
        for &code in Code::ALL {
            assert!(seen.insert(code.number()), "{code:?} repeats a number");
            assert_eq!(Code::from_number(code.number()), Some(code));
            assert!((400..600).contains(&code.http_status()));
        }
        assert_eq!(Code::from_number(1), None);
        assert_eq!(Code::InvalidRequest.number(), 1001);
        assert!(1001 == Code::InvalidRequest);
    }
}
