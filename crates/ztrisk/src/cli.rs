use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Self-hostable Zero Trust user risk scoring, wire-compatible with Cloudflare's
/// zt_risk_scoring API.
#[derive(Debug, Parser)]
#[command(name = "ztrisk", version, about, after_help = crate::client_cmd::EXIT_CODES_HELP)]
pub struct Cli {
    /// Where the data lives: a SQLite file (created if missing) or a PostgreSQL URL
    /// (`postgres://user:password@host:5432/db`).
    #[arg(
        long,
        global = true,
        env = "ZTRISK_DATABASE",
        default_value = "./ztrisk.db"
    )]
    pub database: String,

    #[command(flatten)]
    pub api: crate::client_cmd::ApiArgs,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP API.
    Serve(ServeArgs),
    /// Bring the database schema up to date (serve also does it at start).
    Migrate,
    /// Write the whole installation as a dump (JSON Lines), e.g. to move it to PostgreSQL.
    Export(crate::transfer::ExportArgs),
    /// Load a dump written by `export` into an empty database.
    Import(crate::transfer::ImportArgs),
    /// Manage accounts.
    #[command(subcommand)]
    Accounts(AccountsCommand),
    /// Manage API tokens (Authorization: Bearer).
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// Manage global API keys (the legacy X-Auth-Email / X-Auth-Key scheme).
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage the keys that sign Security Event Tokens (published in the JWKS).
    #[command(subcommand)]
    SigningKeys(SigningKeysCommand),
    /// Send security events to a running server.
    #[command(subcommand)]
    Events(EventsCommand),
    /// Generate a realistic day of events with planted incidents and send them.
    Demo(crate::demo::DemoArgs),
    /// Read and configure behaviors on a running server (or Cloudflare).
    #[command(subcommand)]
    Behaviors(crate::client_cmd::behaviors::BehaviorsCommand),
    /// Users' risk on a running server: list, show, reset.
    #[command(subcommand)]
    Users(crate::client_cmd::users::UsersCommand),
    /// Integrations exporting risk changes (Okta) on a running server.
    #[command(subcommand)]
    Integrations(crate::client_cmd::integrations::IntegrationsCommand),
    /// Webhooks receiving risk changes (Standard Webhooks, Slack) on a running server.
    #[command(subcommand)]
    Webhooks(crate::client_cmd::webhooks::WebhooksCommand),
    /// The audit log of a running server: who changed what, and when.
    #[command(subcommand)]
    Audit(crate::client_cmd::audit::AuditCommand),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(crate::client_cmd::CompletionsArgs),
}

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Send a JSON array or NDJSON file of events (`-` for standard input).
    Send(crate::events_cmd::SendArgs),
    /// Send files of Cloudflare Logpush, Okta System Log, OCSF or ztrisk records (NDJSON or a
    /// JSON array, plain or gzip) through the server's ingest adapters.
    #[command(after_help = "\
Records that carry no signal (a DNS query in no scored category, a logout) are counted as
skipped. Importing the same files again is safe: records already stored count as duplicates
(for `--format ztrisk`, events with an id).

Examples:
  ztrisk events import --format cloudflare/gateway_dns logs/20261124/*.log.gz
  ztrisk events import --format okta okta-system-log.json
  aws s3 cp s3://logs/ocsf/auth.json.gz - | ztrisk events import --format ocsf -")]
    Import(crate::import::ImportArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "ZTRISK_LISTEN", default_value = "127.0.0.1:8787")]
    pub listen: SocketAddr,

    /// Log format on standard error.
    #[arg(long, env = "ZTRISK_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Durability of each commit: `full` survives power loss, `normal` survives a crash of
    /// the process only.
    #[arg(long, env = "ZTRISK_SYNC", value_enum, default_value_t = SyncMode::Full)]
    pub sync: SyncMode,

    /// Requests per minute each credential may make (bursts up to the same number); 0
    /// disables the limit. Counted per process.
    #[arg(long, env = "ZTRISK_RATE_LIMIT", default_value_t = 6000)]
    pub rate_limit: u32,

    /// A MaxMind-format `.mmdb` (GeoIP2/GeoLite2 City or DB-IP City) used to locate logins
    /// that carry an IP but no location.
    #[arg(long, env = "ZTRISK_GEOIP")]
    pub geoip: Option<PathBuf>,

    /// The base URL clients reach this server at (default: http:// and the listen address);
    /// used in integrations' `well_known_url`.
    #[arg(long, env = "ZTRISK_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Largest accepted request body for configuration endpoints, in bytes (event ingestion
    /// always accepts up to 16 MiB).
    #[arg(long, default_value_t = 1024 * 1024)]
    pub body_limit: usize,

    /// Queue deliveries (integrations, webhooks) but send none from this process: for replicas
    /// that only take traffic while others deliver (PostgreSQL). A lone server with this flag
    /// sends nothing.
    #[arg(long, env = "ZTRISK_NO_DELIVERIES")]
    pub no_deliveries: bool,

    /// Serve HTTPS with this certificate chain (PEM: the server's certificate first, then
    /// intermediates). Both files are read again on SIGHUP; connections already open keep the
    /// old pair, and a pair that does not load is logged and the old one kept.
    #[arg(
        long,
        env = "ZTRISK_TLS_CERT",
        requires = "tls_key",
        value_name = "PEM"
    )]
    pub tls_cert: Option<PathBuf>,

    /// The private key of --tls-cert (PEM: PKCS#8, RSA or EC).
    #[arg(
        long,
        env = "ZTRISK_TLS_KEY",
        requires = "tls_cert",
        value_name = "PEM"
    )]
    pub tls_key: Option<PathBuf>,

    /// How long a client may take to send a request's headers (and a TLS handshake); idle
    /// keep-alive connections are closed after the same time.
    #[arg(long, env = "ZTRISK_HEADER_TIMEOUT", default_value = "10s")]
    pub header_timeout: humantime::Duration,

    /// How long a client may take to send a request body; slower is answered 408.
    #[arg(long, env = "ZTRISK_BODY_TIMEOUT", default_value = "60s")]
    pub body_timeout: humantime::Duration,

    /// Connections served at once; more wait until one closes.
    #[arg(long, env = "ZTRISK_MAX_CONNECTIONS", default_value_t = 1024)]
    pub max_connections: usize,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SyncMode {
    Full,
    Normal,
}

#[derive(Debug, Subcommand)]
pub enum AccountsCommand {
    /// Create an account and print its id.
    Create {
        #[arg(long)]
        name: String,
        #[command(flatten)]
        output: Output,
    },
    /// List accounts.
    List {
        #[command(flatten)]
        output: Output,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Create an API token; the token is printed once and never stored.
    Create {
        /// Account the token may act on (repeat for several).
        #[arg(long = "account", required = true)]
        accounts: Vec<String>,
        /// Permission, as Cloudflare names it: "Zero Trust Read", "Zero Trust Write",
        /// "Zero Trust: PII Read", "Zero Trust Risk Events Write" (repeat for several).
        #[arg(long = "permission", required = true)]
        permissions: Vec<String>,
        /// A name to recognise the token by.
        #[arg(long, default_value = "api token")]
        name: String,
        /// Lifetime, e.g. 30d, 12h; without it the token does not expire.
        #[arg(long)]
        expires_in: Option<humantime::Duration>,
        #[command(flatten)]
        output: Output,
    },
    /// List tokens (never their secrets).
    List {
        #[command(flatten)]
        output: Output,
    },
    /// Revoke a token by id; it stops working at once.
    Revoke { id: String },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create or replace a user's global API key and give the user access to accounts.
    Create {
        #[arg(long)]
        email: String,
        /// Account the user belongs to (repeat for several).
        #[arg(long = "account", required = true)]
        accounts: Vec<String>,
        #[command(flatten)]
        output: Output,
    },
    /// List users with their accounts (never their keys).
    List {
        #[command(flatten)]
        output: Output,
    },
    /// Remove a user's global API key.
    Revoke {
        #[arg(long)]
        email: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum SigningKeysCommand {
    /// List the signing keys: kid, status, created, retired (never the key material).
    #[command(after_help = "\
Statuses: active (signs new SETs; exactly one), published (no longer signs, still in the JWKS
so receivers keep verifying), retired (gone from the JWKS).

Example:
  ztrisk --database /var/lib/ztrisk/ztrisk.db signing-keys list")]
    List {
        #[command(flatten)]
        output: Output,
    },
    /// Make a new key the signer; the previous one stays published until retired.
    #[command(after_help = "\
Running servers pick the new key up by themselves. Retire the previous key once receivers
have fetched the new JWKS (they usually cache it for hours).

Example:
  ztrisk signing-keys rotate && ztrisk signing-keys list")]
    Rotate {
        #[command(flatten)]
        output: Output,
    },
    /// Remove a key that no longer signs from the JWKS (the active key cannot be retired).
    #[command(
        after_help = "Example:\n  ztrisk signing-keys retire 7d5H0tEnq3yQ1mXoWk2c9LrBn8sZpVjAaUgF4bCeD6I"
    )]
    Retire {
        /// The key's kid (`ztrisk signing-keys list` shows them). A kid is base64url and may
        /// begin with `-`: that is a value here, not an option.
        #[arg(allow_hyphen_values = true)]
        kid: String,
        #[command(flatten)]
        output: Output,
    },
}

#[derive(Debug, Args)]
pub struct Output {
    /// Print JSON for scripts instead of text.
    #[arg(long)]
    pub json: bool,
}
