//! The command line: charges, refunds, providers, mocks and the demo.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Take payments through any provider from the shell.
#[derive(Debug, Parser)]
#[command(name = "payment", version, about)]
pub struct Cli {
    /// A TOML config file (`provider = "…"` and one `[table]` per provider); the environment overrides it.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The provider to use (overrides config and PAYMENT_PROVIDER); for `mock`, NAME or `all`.
    #[arg(long, global = true, value_name = "NAME")]
    pub provider: Option<String>,
    /// With a routed config (`[[routes]]`): the account (`payjp-backup`) that `charge get`,
    /// `capture`, `cancel`, `complete`, `refund` and `charge list` act at, so its ids can be given bare.
    #[arg(long, global = true, value_name = "NAME", conflicts_with = "provider")]
    pub account: Option<String>,
    /// The provider's base URL (e.g. a `payment mock` URL).
    #[arg(long, global = true, value_name = "URL")]
    pub base_url: Option<String>,
    /// Print JSON (one record per line for lists; errors as JSON on stderr).
    #[arg(long, global = true)]
    pub json: bool,
    /// The deadline of each call, retries included (`30`, `30s`, `500ms`, `2m`); overrides config `timeout`.
    #[arg(long, global = true, value_name = "SECS")]
    pub timeout: Option<String>,
    /// Journal every mutating command durably (`sqlite://PATH`, created when missing, or
    /// `postgres://…`); overrides `[journal] url` and PAYMENT_JOURNAL_URL.
    #[arg(long, global = true, value_name = "URL")]
    pub journal: Option<String>,
    /// Log every HTTP attempt on stderr (method, path, status, attempt, idempotency key, latency);
    /// `RUST_LOG` (e.g. `payment=debug`) chooses finer.
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create, read, capture, cancel and list charges.
    #[command(subcommand)]
    Charge(ChargeCommand),
    /// Create, read and list refunds.
    #[command(subcommand)]
    Refund(RefundCommand),
    /// The compiled-in providers and their capabilities.
    Providers {
        /// Instead: what each provider's mock treats specially (test cards, channels, magic
        /// names) and what it does with them.
        #[arg(long)]
        test_data: bool,
    },
    /// Serve the providers' stateful mocks; prints "NAME URL" per provider; runs until killed.
    Mock(MockArgs),
    /// Charge, capture, refund and list through every compiled-in provider's embedded mock.
    Demo,
    /// Read the payment journal and recover what a crash or a lost answer left open.
    #[command(subcommand)]
    Journal(JournalCommand),
    /// Compare the journal with each provider's charges over a window and name every
    /// difference (exit 0: none, 1: some, 2: usage or config); `--heal` settles what the
    /// provider's word proves.
    Reconcile(ReconcileArgs),
    /// Receive providers' webhooks.
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// Inspect the config's routing (`[[routes]]`).
    #[command(subcommand)]
    Route(RouteCommand),
    /// Drive a running mock (`payment mock`'s URL) without curl: the payer, the clock, faults, the log.
    MockControl(MockControlArgs),
    /// Print a completion script for a shell: `payment completions bash > ~/.local/share/bash-completion/completions/payment`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// `payment reconcile …`
#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// Charges created from (RFC 3339, Unix seconds, or a duration ago: `24h`); default 24h ago.
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Charges created before (same forms); default now.
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Settle the journal's unsettled charge attempts that the provider's final word proves
    /// (through the journal's fenced writes); without it the run only reads.
    #[arg(long)]
    pub heal: bool,
    /// Show a running count on stderr even with --json or when stderr is not a terminal.
    #[arg(long)]
    pub progress: bool,
}

/// `payment mock-control --url URL …`
#[derive(Debug, Args)]
pub struct MockControlArgs {
    /// The mock's URL, as `payment mock` printed it.
    #[arg(long, value_name = "URL")]
    pub url: String,
    /// What to do.
    #[command(subcommand)]
    pub command: MockControlCommand,
}

/// What `payment mock-control` does.
#[derive(Debug, Subcommand)]
pub enum MockControlCommand {
    /// The payer completes an asynchronous charge (Ping++, Justap): it becomes paid.
    Complete {
        /// The charge id.
        id: String,
    },
    /// The customer on a charge's authentication page (3-D Secure): prints the data to pass to
    /// `payment charge complete --data`.
    Authenticate {
        /// The charge id.
        id: String,
        /// What the customer does.
        #[arg(long, value_name = "RESULT", value_parser = ["success", "failure", "abandon"])]
        result: String,
    },
    /// The mock's clock.
    #[command(subcommand)]
    Clock(ClockCommand),
    /// The mock's fault plan.
    #[command(subcommand)]
    Faults(FaultsCommand),
    /// Forget every charge, refund, request and fault.
    Reset,
    /// The requests the mock received, one line each (JSON lines with --json).
    Requests {
        /// Keep printing new requests until interrupted.
        #[arg(long)]
        follow: bool,
        /// Only these statuses: `503`, or a class like `5xx`; `none` for dropped connections.
        #[arg(long, value_name = "STATUS")]
        status: Option<String>,
        /// Only this method.
        #[arg(long, value_name = "METHOD")]
        method: Option<String>,
        /// Only paths starting with this.
        #[arg(long, value_name = "PREFIX")]
        path: Option<String>,
    },
}

/// `payment mock-control … clock …`
#[derive(Debug, Subcommand)]
pub enum ClockCommand {
    /// Move the clock on (`90s`, `2m`, `8d`): expiries and webhook retries come due.
    Advance {
        /// How far.
        duration: String,
    },
}

/// `payment mock-control … faults …`
#[derive(Debug, Subcommand)]
pub enum FaultsCommand {
    /// Add rules to the plan: one rule object, a list of them, or a plan `{"rules": […]}`.
    Add {
        /// The rule(s) as JSON.
        #[arg(value_name = "JSON")]
        rules: String,
    },
    /// Remove every rule.
    Clear,
    /// Print the plan.
    Show,
}

/// `payment webhook …`
#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Serve `POST /webhooks/{provider}` for every compiled-in provider; print each verified,
    /// normalized event as one JSON line (duplicates are acknowledged, not printed again). With
    /// `--journal`, the journal is the inbox and each event settles the attempts it names.
    Serve {
        /// Where to listen; port 0 picks a free one (printed on stderr).
        #[arg(long, default_value = "127.0.0.1:0")]
        addr: String,
    },
}

/// `payment journal …`
#[derive(Debug, Subcommand)]
pub enum JournalCommand {
    /// The logical payments, oldest first (JSON lines with --json).
    List {
        /// Only payments in this state (prepared, dispatched, succeeded, declined, pending,
        /// unknown, not_sent, proven_absent, needs_reconciliation).
        #[arg(long, value_name = "STATE")]
        state: Option<String>,
    },
    /// One payment: its attempts and every transition.
    Show {
        /// The idempotency key.
        key: String,
    },
    /// Settle every unresolved attempt, for every provider in the journal; exits 0 when nothing
    /// is left unknown (needs-reconciliation ones are listed), 3 otherwise.
    Recover {
        /// How long to keep asking about outcomes that cannot be learned yet (leases, outages).
        #[arg(long, value_name = "DURATION", default_value = "60s")]
        within: String,
    },
}

/// `payment charge …`
#[derive(Debug, Subcommand)]
pub enum ChargeCommand {
    /// Create a charge.
    Create(Box<CreateChargeArgs>),
    /// Read a charge.
    Get {
        /// The charge id.
        id: String,
    },
    /// Capture an authorized charge.
    Capture {
        /// The charge id.
        id: String,
        /// Capture this much (minor units) instead of everything.
        #[arg(long, value_name = "MINOR", allow_hyphen_values = true)]
        amount: Option<String>,
        /// The currency of --amount (read from the charge when absent and the provider takes several).
        #[arg(long, value_name = "ISO", requires = "amount")]
        currency: Option<String>,
        /// The idempotency key (generated when absent).
        #[arg(long, value_name = "KEY")]
        idempotency_key: Option<String>,
    },
    /// Complete a charge that was requires_action once the customer is back from its next
    /// action (3-D Secure): exits 0 when it succeeded or is authorized, 1 when declined or
    /// authentication failed, 3 when the outcome is unknown.
    Complete {
        /// The charge id.
        id: String,
        /// What the customer's step returned, as JSON (`payment mock-control authenticate`
        /// prints it; nothing for PAY.JP).
        #[arg(long, value_name = "JSON")]
        data: Option<String>,
        /// The idempotency key (generated when absent).
        #[arg(long, value_name = "KEY")]
        idempotency_key: Option<String>,
    },
    /// Cancel an uncaptured charge.
    Cancel {
        /// The charge id.
        id: String,
        /// The idempotency key (generated when absent).
        #[arg(long, value_name = "KEY")]
        idempotency_key: Option<String>,
    },
    /// List charges, newest first: the first 10, `--limit N` of them, or `--all`.
    List {
        /// How many charges to print (default 10).
        #[arg(long, value_name = "N", conflicts_with = "all", value_parser = clap::value_parser!(u64).range(1..))]
        limit: Option<u64>,
        /// Walk every charge the account holds (a running count on stderr when it is a terminal).
        #[arg(long)]
        all: bool,
        /// Charges per request to the provider (its default when absent).
        #[arg(long, value_name = "N")]
        page_size: Option<u32>,
    },
}

/// `payment charge create …`
#[derive(Debug, Args)]
pub struct CreateChargeArgs {
    /// The amount in minor units of the currency (yen, fen, cents).
    #[arg(long, value_name = "MINOR", allow_hyphen_values = true)]
    pub amount: String,
    /// ISO 4217 code.
    #[arg(long, value_name = "ISO")]
    pub currency: String,
    /// A provider token.
    #[arg(long, value_name = "TOKEN", group = "payment_source")]
    pub source: Option<String>,
    /// A test card: NUMBER,MM/YYYY[,CVC[,HOLDER NAME]].
    #[arg(long, value_name = "CARD", group = "payment_source")]
    pub card: Option<String>,
    /// An asynchronous channel such as alipay.
    #[arg(long, value_name = "NAME", group = "payment_source")]
    pub channel: Option<String>,
    /// A customer stored at the provider (PAY.JP `cus_…`), whose default card is charged.
    #[arg(long, value_name = "ID", group = "payment_source")]
    pub customer: Option<String>,
    /// The payer's IP address (channel payments such as Ping++ require it).
    #[arg(long, value_name = "IP")]
    pub payer_ip: Option<String>,
    /// Authorize only; capture later.
    #[arg(long)]
    pub no_capture: bool,
    /// Ask for customer authentication (3-D Secure): the charge comes back requires_action with
    /// the next action to send the customer to.
    #[arg(long)]
    pub three_d_secure: bool,
    /// Where the customer's browser returns after authenticating.
    #[arg(long, value_name = "URL", requires = "three_d_secure")]
    pub return_url: Option<String>,
    /// The customer's email address, for the issuer.
    #[arg(long, value_name = "EMAIL", requires = "three_d_secure")]
    pub customer_email: Option<String>,
    /// The customer's phone number (E.164), for the issuer.
    #[arg(long, value_name = "PHONE", requires = "three_d_secure")]
    pub customer_phone: Option<String>,
    /// The customer's browser `User-Agent`, for the issuer (Worldpay needs one; the CLI's own by default).
    #[arg(long, value_name = "UA", requires = "three_d_secure")]
    pub browser_user_agent: Option<String>,
    /// The customer's browser `Accept` header, for the issuer.
    #[arg(long, value_name = "ACCEPT", requires = "three_d_secure", default_value = "text/html")]
    pub browser_accept: String,
    /// The merchant reference (order number).
    #[arg(long, value_name = "REF")]
    pub reference: Option<String>,
    /// A description.
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    /// Metadata, repeatable.
    #[arg(long, value_name = "K=V")]
    pub metadata: Vec<String>,
    /// The idempotency key (generated when absent; printed on OutcomeUnknown).
    #[arg(long, value_name = "KEY")]
    pub idempotency_key: Option<String>,
    /// The payer's region (`jp`, `cn`, …), matched by the config's `[[routes]]` rules.
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
}

/// `payment route …`
#[derive(Debug, Subcommand)]
pub enum RouteCommand {
    /// Which rule a payment matches and why each account of its chain is or is not eligible;
    /// sends nothing.
    Explain {
        /// The currency (ISO 4217).
        #[arg(long, value_name = "ISO")]
        currency: String,
        /// The amount in minor units.
        #[arg(long, value_name = "MINOR", allow_hyphen_values = true)]
        amount: String,
        /// The payer's region.
        #[arg(long, value_name = "REGION")]
        region: Option<String>,
        /// Metadata the rules may match, `K=V` (repeatable).
        #[arg(long, value_name = "K=V")]
        metadata: Vec<String>,
        /// An authorization (capture later) rather than a charge.
        #[arg(long)]
        authorize: bool,
        /// The payment's idempotency key (it picks the primary of a volume split).
        #[arg(long, value_name = "KEY", default_value = "explain")]
        idempotency_key: String,
    },
}

/// `payment refund …`
#[derive(Debug, Subcommand)]
pub enum RefundCommand {
    /// Refund a charge in full or in part.
    Create {
        /// The charge id.
        charge_id: String,
        /// Refund this much (minor units) instead of everything left.
        #[arg(long, value_name = "MINOR", allow_hyphen_values = true)]
        amount: Option<String>,
        /// The currency of --amount (read from the charge when absent and the provider takes several).
        #[arg(long, value_name = "ISO", requires = "amount")]
        currency: Option<String>,
        /// Why.
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
        /// The idempotency key (generated when absent).
        #[arg(long, value_name = "KEY")]
        idempotency_key: Option<String>,
    },
    /// Read one refund.
    Get {
        /// The charge id.
        charge_id: String,
        /// The refund id.
        refund_id: String,
    },
    /// List a charge's refunds.
    List {
        /// The charge id.
        charge_id: String,
    },
}

/// `payment mock …`
#[derive(Debug, Args)]
pub struct MockArgs {
    /// Where to listen; port 0 picks a free port per provider.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub addr: String,
    /// Fixed ports for several mocks: N, N+1, … in the order `payment providers` lists them
    /// (payjp, pingpp, justap, worldpay, google-standard-payments: those compiled in), on --addr's host.
    #[arg(long, value_name = "N")]
    pub base_port: Option<u16>,
    /// Write `PAYMENT_<PROVIDER>_<KEY>=…` lines (URL, test credentials, keys) for every mock served,
    /// so that after `set -a; . PATH; set +a` a `payment --provider NAME …` reaches its mock.
    #[arg(long, value_name = "PATH")]
    pub env_file: Option<PathBuf>,
    /// A fault plan: {"seed":1,"rules":[{"kind":"drop_after_commit","probability":0.3}]}.
    #[arg(long, value_name = "JSON")]
    pub faults: Option<String>,
    /// Write the keys a client needs for signing providers here.
    #[arg(long, value_name = "DIR")]
    pub keys_dir: Option<PathBuf>,
    /// POST each provider's webhooks here on every state change, signed its way and retried on
    /// non-2xx by its schedule on the mock clock (`http://HOST:PORT/webhooks` sends to
    /// `/webhooks/NAME`; `{provider}` in the URL is replaced by the name).
    #[arg(long, value_name = "URL")]
    pub webhook_url: Option<String>,
}
