//! Commands that talk to a running API (ztrisk or Cloudflare) through `ztrisk-client`:
//! `behaviors`, `users`, `integrations`, `webhooks`, plus the connection flags, exit codes, error
//! reporting and shell completions they share with `events send` and `demo`.

pub mod audit;
pub mod behaviors;
pub mod deliveries;
pub mod integrations;
pub mod table;
pub mod users;
pub mod webhooks;

use std::fmt;
use std::process::ExitCode;
use ztrisk_client::types::Code;
use ztrisk_client::{ApiError, Client, Error as ClientError};

/// The CLI's default API: a local ztrisk (the SDK's default is Cloudflare's production URL).
pub const DEFAULT_BASE_URL: &str = "http://127.0.0.1:8787/client/v4";

/// Exit status: the API refused the request (a 4xx other than below), or any other failure.
pub const EXIT_FAILED: u8 = 1;
/// Exit status: the command line is wrong (clap's own code), or credentials/account missing.
pub const EXIT_USAGE: u8 = 2;
/// Exit status: the credentials were refused (401/403, or malformed/missing credentials).
pub const EXIT_AUTH: u8 = 3;
/// Exit status: no such account, user, integration, webhook, signing key or route (404).
pub const EXIT_NOT_FOUND: u8 = 4;
/// Exit status: the server failed or could not be reached (5xx, 429, connection, timeout),
/// even after retries; trying again later may help.
pub const EXIT_UNAVAILABLE: u8 = 5;

/// The exit codes, for `--help`.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  1  the API refused the request (400, 409...), or another failure
  2  usage error: bad arguments, or no credentials / account given
  3  authentication or permission error (401, 403; malformed or missing credentials)
  4  not found: no such account, user, integration, webhook, signing key or route (404)
  5  server error, rate limit or network failure (5xx, 429, unreachable, timeout), after retries";

/// Where the API is and with what credentials: global flags of every command.
#[derive(Debug, Clone, clap::Args)]
pub struct ApiArgs {
    /// API base URL: a ztrisk server or Cloudflare (https://api.cloudflare.com/client/v4).
    #[arg(
        long,
        global = true,
        env = "CLOUDFLARE_BASE_URL",
        default_value = DEFAULT_BASE_URL,
        help_heading = "API connection (behaviors, users, integrations, webhooks, events, demo)"
    )]
    pub base_url: String,

    /// API token (Authorization: Bearer); `ztrisk serve` prints one at first start. Tokens
    /// may begin with `-`, so the value after `--token` is always taken as the token.
    #[arg(
        long,
        global = true,
        allow_hyphen_values = true,
        env = "CLOUDFLARE_API_TOKEN",
        hide_env_values = true,
        help_heading = "API connection (behaviors, users, integrations, webhooks, events, demo)"
    )]
    pub token: Option<String>,

    /// Global API key (X-Auth-Key), with --api-email, instead of a token.
    #[arg(
        long,
        global = true,
        env = "CLOUDFLARE_API_KEY",
        hide_env_values = true,
        help_heading = "API connection (behaviors, users, integrations, webhooks, events, demo)"
    )]
    pub api_key: Option<String>,

    /// Email of the global API key's user (X-Auth-Email).
    #[arg(
        long,
        global = true,
        env = "CLOUDFLARE_EMAIL",
        help_heading = "API connection (behaviors, users, integrations, webhooks, events, demo)"
    )]
    pub api_email: Option<String>,
}

/// The account a remote command acts on.
#[derive(Debug, Clone, clap::Args)]
pub struct AccountArg {
    /// Account id, 32 hex characters (`ztrisk accounts list` shows them).
    #[arg(long, env = "CLOUDFLARE_ACCOUNT_ID")]
    pub account: Option<String>,
}

impl AccountArg {
    /// The account id, checked for shape.
    pub fn require(&self) -> anyhow::Result<String> {
        let Some(account) = self.account.as_deref().map(str::trim) else {
            return Err(UsageError::new(
                "no account: pass --account <ID> or set CLOUDFLARE_ACCOUNT_ID \
                 (`ztrisk accounts list` shows the ids)",
            )
            .into());
        };
        if account.len() != 32 || !account.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(UsageError::new(format!(
                "--account {account:?} is not an account id: expected 32 hexadecimal characters"
            ))
            .into());
        }
        Ok(account.to_ascii_lowercase())
    }
}

/// A mistake on the command line found after parsing (exit code 2).
#[derive(Debug)]
pub struct UsageError(String);

impl UsageError {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Something named on the command line that does not exist, found without the API (exit
/// code 4, like a 404).
#[derive(Debug)]
pub struct NotFound(pub String);

impl fmt::Display for NotFound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NotFound {}

/// A client for the API named by the global flags.
pub fn connect(api: &ApiArgs) -> anyhow::Result<Client> {
    let non_empty = |v: &Option<String>| v.clone().filter(|v| !v.trim().is_empty());
    let mut builder = Client::builder().base_url(&api.base_url);
    match (
        non_empty(&api.token),
        non_empty(&api.api_key),
        non_empty(&api.api_email),
    ) {
        (Some(token), _, _) => builder = builder.api_token(token),
        (None, Some(key), Some(email)) => builder = builder.api_key(key).api_email(email),
        (None, Some(_), None) => {
            return Err(UsageError::new(
                "--api-key needs --api-email (or CLOUDFLARE_EMAIL), or use --token",
            )
            .into());
        }
        (None, None, _) => {
            return Err(UsageError::new(
                "no credentials: pass --token <TOKEN> or set CLOUDFLARE_API_TOKEN \
                 (`ztrisk serve` prints an admin token at first start; \
                 `ztrisk tokens create` makes more)",
            )
            .into());
        }
    }
    builder.build().map_err(|e| match e {
        ClientError::Config(message) => UsageError::new(message).into(),
        other => other.into(),
    })
}

/// Prints a value as pretty JSON on standard output.
pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// One record: as JSON, or as aligned `label:  value` lines.
pub fn print_record<T: serde::Serialize>(
    value: &T,
    json: bool,
    pairs: &[(&str, String)],
) -> anyhow::Result<()> {
    if json {
        return print_json(value);
    }
    print!("{}", table::fields(pairs));
    Ok(())
}

/// What `delete` commands print: `deleted <what> <id>`, or JSON.
pub fn print_deleted(what: &str, id: &str, json: bool) -> anyhow::Result<()> {
    if json {
        print_json(&serde_json::json!({"id": id, "deleted": true}))
    } else {
        println!("deleted {what} {id}");
        Ok(())
    }
}

/// `2026-01-10T10:01:00Z`.
pub fn time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The exit status for an error of any command.
pub fn exit_code(error: &anyhow::Error) -> ExitCode {
    ExitCode::from(exit_status(error))
}

fn exit_status(error: &anyhow::Error) -> u8 {
    for cause in error.chain() {
        if cause.is::<UsageError>() {
            return EXIT_USAGE;
        }
        if cause.is::<users::NotAtRisk>() || cause.is::<NotFound>() {
            return EXIT_NOT_FOUND;
        }
        if let Some(e) = cause.downcast_ref::<ClientError>() {
            return match e {
                ClientError::Api(api) => api_status(api),
                ClientError::Connection { .. } | ClientError::Timeout { .. } => EXIT_UNAVAILABLE,
                ClientError::Config(_) | ClientError::InvalidParameter(_) => EXIT_USAGE,
                _ => EXIT_FAILED,
            };
        }
    }
    EXIT_FAILED
}

/// Codes of credential problems that Cloudflare answers with 400.
const CREDENTIAL_CODES: &[Code] = &[
    Code::MissingCredentials,
    Code::InvalidHeaders,
    Code::MalformedAuthEmail,
    Code::MalformedAuthKey,
    Code::MalformedAuthorization,
];

fn api_status(e: &ApiError) -> u8 {
    match e.status {
        401 | 403 => EXIT_AUTH,
        400 if CREDENTIAL_CODES.iter().any(|c| e.has_code(c.number())) => EXIT_AUTH,
        404 => EXIT_NOT_FOUND,
        429 | 500..=599 => EXIT_UNAVAILABLE,
        _ => EXIT_FAILED,
    }
}

/// Prints an error on standard error: API refusals with their codes, the fields at fault and
/// what to do; anything else as `error: <cause chain>`.
pub fn report(error: &anyhow::Error) {
    eprint!("{}", render(error));
}

fn render(error: &anyhow::Error) -> String {
    let client_error = error
        .chain()
        .find_map(|cause| cause.downcast_ref::<ClientError>());
    match client_error {
        Some(ClientError::Api(api)) => render_api(api),
        Some(e @ (ClientError::Connection { .. } | ClientError::Timeout { .. })) => {
            let mut text = match e {
                ClientError::Connection { url, source } => {
                    format!("error: cannot reach {url}: {}", innermost(source))
                }
                other => format!("error: {other}"),
            };
            text.push_str(
                "\nhint: is the server running (`ztrisk serve`), and is --base-url \
                 (CLOUDFLARE_BASE_URL) right? It is the API root, e.g. \
                 http://127.0.0.1:8787/client/v4\n",
            );
            text
        }
        Some(e @ ClientError::Decode { .. }) => format!(
            "error: {e}\nhint: is --base-url (CLOUDFLARE_BASE_URL) the API root of ztrisk or \
             Cloudflare? It usually ends with /client/v4\n"
        ),
        _ => format!("error: {error:#}\n"),
    }
}

/// The deepest cause of a transport error ("Connection refused (os error 111)").
fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

fn render_api(e: &ApiError) -> String {
    let mut text = format!("error: {} {} answered HTTP {}", e.method, e.url, e.status);
    if let Some(reason) = reason(e.status) {
        text.push_str(&format!(" {reason}"));
    }
    text.push('\n');
    for item in &e.errors {
        text.push_str(&format!("  code {}: {}", item.code, item.message));
        if let Some(source) = &item.source {
            text.push_str(&format!("\n    field: {}", source.pointer));
            if let Some(flag) = flag_for(&source.pointer) {
                text.push_str(&format!(" ({flag})"));
            }
        }
        for cause in &item.error_chain {
            text.push_str(&format!(
                "\n    cause: code {}: {}",
                cause.code, cause.message
            ));
        }
        text.push('\n');
    }
    if e.errors.is_empty()
        && let Some(body) = e.body.as_deref().map(str::trim).filter(|b| !b.is_empty())
    {
        let first: String = body.lines().take(3).collect::<Vec<_>>().join(" ");
        text.push_str(&format!("  body: {first}\n"));
    }
    if let Some(id) = &e.request_id
        && e.status >= 500
    {
        text.push_str(&format!("  request id: {id}\n"));
    }
    if let Some(hint) = hint(e) {
        text.push_str(&format!("hint: {hint}\n"));
    }
    text
}

fn reason(status: u16) -> Option<&'static str> {
    Some(match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => return None,
    })
}

/// The command-line flag that sets the request field at `pointer`, when there is one.
fn flag_for(pointer: &str) -> Option<String> {
    let parts: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
    Some(match parts.as_slice() {
        ["behaviors", id] => format!("behavior id `{id}`"),
        ["behaviors", id, "risk_level"] => format!("--level, for `{id}`"),
        ["behaviors", id, "enabled"] => format!("--enable/--disable, for `{id}`"),
        ["behaviors", id, "settings", key] => format!("--setting {key}=..., for `{id}`"),
        ["behaviors", id, "settings"] => format!("--setting, for `{id}`"),
        ["tenant_url"] => "--tenant-url".into(),
        ["reference_id"] => "--reference-id".into(),
        ["active"] => "--active".into(),
        ["integration_type"] => "--type".into(),
        ["url"] => "--url".into(),
        ["format"] => "--format".into(),
        ["min_level"] => "--min-level".into(),
        ["page"] => "--page".into(),
        ["per_page"] => "--per-page".into(),
        ["order_by"] => "--order-by".into(),
        ["direction"] => "--direction".into(),
        ["since"] => "--since".into(),
        ["action"] => "--action".into(),
        _ => return None,
    })
}

fn hint(e: &ApiError) -> Option<String> {
    let has = |code: Code| e.has_code(code.number());
    let message = |code: Code| {
        e.errors
            .iter()
            .find(|i| i.code == code)
            .map(|i| i.message.as_str())
            .unwrap_or_default()
    };
    Some(if has(Code::MissingCredentials) {
        "no credentials reached the server: pass --token or set CLOUDFLARE_API_TOKEN".into()
    } else if has(Code::MalformedAuthorization) {
        "the token is malformed (a ztrisk token is 40 characters of A-Z a-z 0-9 _ -): check \
         --token / CLOUDFLARE_API_TOKEN for stray quotes or spaces"
            .into()
    } else if has(Code::MalformedAuthEmail) || has(Code::MalformedAuthKey) {
        "the global API key or its email is malformed: check --api-key and --api-email".into()
    } else if has(Code::AuthenticationError) {
        "the credentials are unknown, revoked or expired: check --token, or create a token on \
         the server with `ztrisk tokens create --account <ID> --permission \"Zero Trust Write\"`"
            .into()
    } else if has(Code::Unauthorized) {
        "the credentials are valid but may not do this on this account (the message says what \
         is missing): check --account, or use a token with that permission \
         (`ztrisk tokens create --permission ...`)"
            .into()
    } else if has(Code::CouldNotRoute) || has(Code::NoRoute) {
        "check --account (32 hex characters) and the id you gave (user, integration and webhook \
         ids are UUIDs), and that --base-url is the API root (e.g. http://127.0.0.1:8787/client/v4)"
            .into()
    } else if has(Code::NotFound) {
        let message = message(Code::NotFound);
        if message.starts_with("Integration") {
            "`ztrisk integrations list` shows the account's integrations".into()
        } else if message.starts_with("Webhook") {
            "`ztrisk webhooks list` shows the account's webhooks".into()
        } else if message.starts_with("Stream") {
            "only SSF integrations have a stream, and only once their receiver created it \
             (POST to the configuration_endpoint of the integration's well-known document)"
                .into()
        } else {
            "`ztrisk users list` shows the users at risk (users are known once an event names them)"
                .into()
        }
    } else if has(Code::Conflict) {
        "another integration of this account has this reference id: choose another one, or \
         update that integration (`ztrisk integrations get --reference-id <REF>`)"
            .into()
    } else if has(Code::InvalidRequest) {
        "fix the fields above and try again (every problem is listed; the request changed nothing)"
            .into()
    } else if has(Code::RateLimited) || e.status == 429 {
        "the server is rate limiting these credentials: wait a minute and try again".into()
    } else if e.status >= 500 {
        "the server failed; trying again later may help (give its operator the request id)".into()
    } else {
        return None;
    })
}

/// Arguments of `ztrisk completions`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Install:
  bash: ztrisk completions bash > ~/.local/share/bash-completion/completions/ztrisk
  zsh:  ztrisk completions zsh > ~/.zfunc/_ztrisk   (with fpath+=(~/.zfunc) before compinit)
  fish: ztrisk completions fish > ~/.config/fish/completions/ztrisk.fish")]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Prints the completion script of `shell` on standard output.
pub fn completions(args: &CompletionsArgs) {
    let mut command = <crate::cli::Cli as clap::CommandFactory>::command();
    clap_complete::generate(args.shell, &mut command, "ztrisk", &mut std::io::stdout());
}

#[cfg(test)]
mod tests {
    use super::*;
    use ztrisk_client::types::ErrorItem;

    fn api(status: u16, errors: Vec<ErrorItem>) -> anyhow::Error {
        ClientError::Api(Box::new(ApiError {
            status,
            method: "PUT".into(),
            url: "http://h/x".into(),
            errors,
            messages: vec![],
            request_id: Some("r1".into()),
            body: None,
        }))
        .into()
    }

    /// Global flags, subcommands and their arguments do not clash (clap's own checks).
    #[test]
    fn command_line_is_consistent() {
        <crate::cli::Cli as clap::CommandFactory>::command().debug_assert();
    }

    #[test]
    fn statuses() {
        let cases = [
            (api(400, vec![ErrorItem::new(1001, "bad")]), EXIT_FAILED),
            (api(409, vec![ErrorItem::new(1409, "dup")]), EXIT_FAILED),
            (api(400, vec![ErrorItem::new(9106, "missing")]), EXIT_AUTH),
            (
                api(
                    400,
                    vec![ErrorItem::new(6003, "headers").with_chain(6111, "format")],
                ),
                EXIT_AUTH,
            ),
            (api(403, vec![ErrorItem::new(10000, "auth")]), EXIT_AUTH),
            (
                api(404, vec![ErrorItem::new(1404, "User not found")]),
                EXIT_NOT_FOUND,
            ),
            (api(429, vec![]), EXIT_UNAVAILABLE),
            (api(503, vec![]), EXIT_UNAVAILABLE),
            (UsageError::new("x").into(), EXIT_USAGE),
            (anyhow::anyhow!("other"), EXIT_FAILED),
        ];
        for (error, expected) in cases {
            assert_eq!(exit_status(&error), expected, "{error:#}");
        }
    }

    #[test]
    fn renders_fields_and_hints() {
        let text = render(&api(
            400,
            vec![
                ErrorItem::new(1001, "Invalid request: expected one of \"low\"")
                    .with_pointer("/behaviors/imp_travel/risk_level"),
            ],
        ));
        assert_eq!(
            text,
            "error: PUT http://h/x answered HTTP 400 Bad Request\n  code 1001: Invalid request: \
             expected one of \"low\"\n    field: /behaviors/imp_travel/risk_level (--level, for \
             `imp_travel`)\nhint: fix the fields above and try again (every problem is listed; \
             the request changed nothing)\n"
        );
        let text = render(&api(503, vec![ErrorItem::new(1503, "Storage unavailable")]));
        assert!(text.contains("request id: r1"), "{text}");
    }
}
