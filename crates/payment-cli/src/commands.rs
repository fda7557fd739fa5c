//! `charge`, `refund` and `providers`.

use futures::StreamExt;
use payment::{
    Authentication, AuthenticationMode, CardDetails, ChargeId, ChargeStatus, CompletionData, CreateCharge,
    CreateRefund, Currency, IdempotencyKey, ListCharges, ListRefunds, Money, PaymentClient, PaymentSource, RefundId,
    RequestOptions,
};

use crate::args::{ChargeCommand, Cli, CreateChargeArgs, RefundCommand};
use crate::config::config;
use crate::failure::{Failure, usage};
use crate::input::metadata;
use crate::output;
use crate::route;

async fn connect(cli: &Cli) -> Result<PaymentClient, Failure> {
    Ok(payment::connect(&config(cli)?).await?)
}

/// The client a charge id belongs to and the id as the provider knows it: with a routed config,
/// the account the id names (`ACCOUNT/ID`); otherwise the one configured provider (account "").
async fn client_for(cli: &Cli, id: &str) -> Result<(PaymentClient, ChargeId, String), Failure> {
    match (route::routed(cli).await?, &cli.account) {
        (Some(router), Some(account)) => {
            // A bare id is the account's own; a qualified one must name the same account.
            let qualified = if id.contains('/') { id.to_owned() } else { format!("{account}/{id}") };
            let found = route::account_for(&router, &qualified)?;
            if found.2 != *account {
                return Err(usage(format!("charge {id} is at account {}, not --account {account}", found.2)));
            }
            Ok(found)
        }
        (Some(router), None) => route::account_for(&router, id),
        (None, Some(_)) => Err(usage("--account needs a config with [[routes]] over several accounts")),
        (None, None) => Ok((connect(cli).await?, ChargeId::new(id), String::new())),
    }
}

/// A record under the id the caller used: qualified by its account when routed.
fn at(account: &str, record: payment::ChargeRecord) -> payment::ChargeRecord {
    if account.is_empty() { record } else { payment::routing::charge_at(account, record) }
}

fn refund_at(account: &str, record: payment::RefundRecord) -> payment::RefundRecord {
    if account.is_empty() { record } else { payment::routing::refund_at(account, record) }
}

fn currency(code: &str) -> Result<Currency, Failure> {
    Currency::from_code(code).map_err(|e| usage(format!("--currency: {e}")))
}

fn minor(text: &str, flag: &str) -> Result<i64, Failure> {
    let value: i64 = text.trim().parse().map_err(|_| {
        usage(format!(
            "{flag} must be a whole number of minor units (e.g. 1000 for JPY 1000, 1234 for CNY 12.34), got {text:?}"
        ))
    })?;
    if value <= 0 {
        return Err(usage(format!("{flag} must be positive, got {value}")));
    }
    Ok(value)
}

fn options(key: &Option<String>) -> Result<RequestOptions, Failure> {
    match key {
        Some(k) => Ok(RequestOptions::with_key(
            IdempotencyKey::new(k.clone()).map_err(|e| usage(format!("--idempotency-key: {}", e.message())))?,
        )),
        // Fixed here, before the first attempt, so an OutcomeUnknown can name it.
        None => Ok(RequestOptions::with_key(IdempotencyKey::generate())),
    }
}

/// The currency of a partial amount: `--currency`, else the one currency the provider takes, else
/// what a self-describing charge id says, else read from the charge (where it can be read).
async fn currency_of(client: &PaymentClient, id: &ChargeId, flag: Option<Currency>) -> Result<Currency, Failure> {
    if let Some(c) = flag {
        return Ok(c);
    }
    let caps = client.capabilities();
    if let [only] = caps.currencies {
        return Ok(*only);
    }
    if let Some(c) = client.currency_of(id) {
        return Ok(c);
    }
    if !caps.charge.retrieve {
        return Err(usage(format!(
            "{} cannot read the charge's currency: give --currency ISO",
            client.provider_name()
        )));
    }
    Ok(client.retrieve_charge(id).await?.amount.currency)
}

fn source(args: &CreateChargeArgs) -> Result<PaymentSource, Failure> {
    match (&args.source, &args.card, &args.channel, &args.customer) {
        (Some(token), None, None, None) => Ok(PaymentSource::Token(token.clone())),
        (None, Some(card), None, None) => Ok(PaymentSource::Card(
            CardDetails::parse_cli(card).map_err(|e| usage(format!("--card: {}", e.message())))?,
        )),
        (None, None, Some(channel), None) => Ok(PaymentSource::channel(channel.clone())),
        (None, None, None, Some(customer)) => Ok(PaymentSource::Customer(customer.clone())),
        _ => Err(usage(
            "give exactly one of --source TOKEN, --card NUMBER,MM/YYYY[,CVC[,HOLDER]], --channel NAME, --customer ID",
        )),
    }
}

/// Charges `charge list` prints without `--limit` or `--all`.
const DEFAULT_LIST_LIMIT: u64 = 10;

/// `payment charge …`
pub async fn charge(cli: &Cli, command: &ChargeCommand) -> Result<(), Failure> {
    match command {
        ChargeCommand::Create(args) => {
            let amount = Money::new(minor(&args.amount, "--amount")?, currency(&args.currency)?);
            let mut request = CreateCharge::new(amount, source(args)?);
            request.capture = !args.no_capture;
            request.reference = args.reference.clone();
            request.description = args.description.clone();
            request.metadata = metadata(&args.metadata)?;
            if args.three_d_secure {
                request.authentication = Some(Authentication {
                    mode: AuthenticationMode::Required,
                    return_url: args.return_url.clone(),
                    email: args.customer_email.clone(),
                    phone: args.customer_phone.clone(),
                    browser: Some(Box::new(payment::Browser {
                        accept_header: args.browser_accept.clone(),
                        user_agent: args
                            .browser_user_agent
                            .clone()
                            .unwrap_or_else(|| format!("payment-cli/{}", env!("CARGO_PKG_VERSION"))),
                        language: None,
                    })),
                });
            }
            request.payer_ip = match (&args.payer_ip, &args.channel) {
                (Some(ip), _) => Some(
                    ip.parse::<std::net::IpAddr>()
                        .map_err(|_| usage(format!("--payer-ip {ip:?} is not an IP address")))?
                        .to_string(),
                ),
                (None, Some(_)) => return Err(usage("--channel payments need --payer-ip (the payer's IP address)")),
                (None, None) => None,
            };
            let opts = options(&args.idempotency_key)?;
            if let Some(router) = route::routed(cli).await? {
                return route::create(&router, request, args.region.clone(), &opts, cli.json).await;
            }
            if args.region.is_some() {
                return Err(usage("--region needs a config with [[routes]] (and no --provider)"));
            }
            let client = connect(cli).await?;
            output::charge(&client.create_charge(request, &opts).await?, cli.json);
        }
        ChargeCommand::Get { id } => {
            let (client, id, account) = client_for(cli, id).await?;
            let mut record = client.retrieve_charge(&id).await?;
            crate::annotate::from_journal(cli, client.account(), &mut record).await;
            output::charge(&at(&account, record), cli.json);
        }
        ChargeCommand::Capture { id, amount, currency: currency_flag, idempotency_key } => {
            // Arguments are checked before any I/O: bad input is a usage error, not a network call.
            let part = amount.as_deref().map(|a| minor(a, "--amount")).transpose()?;
            let opts = options(idempotency_key)?;
            let code = currency_flag.as_deref().map(currency).transpose()?;
            let (client, id, account) = client_for(cli, id).await?;
            let amount = match part {
                Some(minor) => Some(Money::new(minor, currency_of(&client, &id, code).await?)),
                None => None,
            };
            output::charge(&at(&account, client.capture_charge(&id, amount, &opts).await?), cli.json);
        }
        ChargeCommand::Complete { id, data, idempotency_key } => {
            let data = match data {
                Some(text) => {
                    CompletionData(serde_json::from_str(text).map_err(|e| usage(format!("--data is not JSON: {e}")))?)
                }
                None => CompletionData::none(),
            };
            let opts = options(idempotency_key)?;
            let (client, id, account) = client_for(cli, id).await?;
            let record = at(&account, client.complete_charge(&id, &data, &opts).await?);
            output::charge(&record, cli.json);
            // A completion that reads back a failed charge (a Ping++ payer who gave up) exits 1
            // as a decline would.
            if record.status == ChargeStatus::Failed {
                return Err(Failure::Payment(record.failure_error()));
            }
        }
        ChargeCommand::Cancel { id, idempotency_key } => {
            let opts = options(idempotency_key)?;
            let (client, id, account) = client_for(cli, id).await?;
            output::charge(&at(&account, client.cancel_charge(&id, &opts).await?), cli.json);
        }
        ChargeCommand::List { limit, all, page_size } => {
            let query = ListCharges { page_size: *page_size, ..ListCharges::default() };
            // The clients live as long as the stream: one owning an embedded mock (`mode = "mock"`)
            // takes it down when dropped, and the next page would find nothing listening.
            let router = route::routed(cli).await?;
            let client = match &router {
                Some(_) => None,
                None => Some(connect(cli).await?),
            };
            if router.is_none() && cli.account.is_some() {
                return Err(usage("--account needs a config with [[routes]] over several accounts"));
            }
            let mut stream = match (&router, &client) {
                (Some(router), _) if cli.account.is_some() => {
                    let name = cli.account.clone().unwrap_or_default();
                    let account = router.account(&name)?;
                    let at = name.clone();
                    account.client.list_charges(query).map_items(move |r| payment::routing::charge_at(&at, r))
                }
                (Some(router), _) => payment::Charge::list_charges(router, query),
                (None, Some(client)) => client.list_charges(query),
                (None, None) => return Err(usage("no client to list charges with".to_owned())),
            };
            let most = if *all { None } else { Some(limit.unwrap_or(DEFAULT_LIST_LIMIT)) };
            let mut progress = output::Progress::for_walk(*all, "charges");
            let mut printed = 0u64;
            while most.is_none_or(|m| printed < m) {
                match stream.next().await {
                    Some(item) => output::charge_line(&item?, cli.json),
                    None => break,
                }
                printed += 1;
                progress.tick(printed);
            }
            progress.done(printed);
        }
    }
    Ok(())
}

/// `payment refund …`
pub async fn refund(cli: &Cli, command: &RefundCommand) -> Result<(), Failure> {
    match command {
        RefundCommand::Create { charge_id, amount, currency: currency_flag, reason, idempotency_key } => {
            // Arguments are checked before any I/O.
            let part = amount.as_deref().map(|a| minor(a, "--amount")).transpose()?;
            let code = currency_flag.as_deref().map(currency).transpose()?;
            let opts = options(idempotency_key)?;
            let (client, id, account) = client_for(cli, charge_id).await?;
            let mut request = CreateRefund::full(id.clone());
            if let Some(minor) = part {
                request.amount = Some(Money::new(minor, currency_of(&client, &id, code).await?));
            }
            request.reason = reason.clone();
            output::refund(&refund_at(&account, client.create_refund(request, &opts).await?), cli.json);
        }
        RefundCommand::Get { charge_id, refund_id } => {
            let (client, id, account) = client_for(cli, charge_id).await?;
            let r = client.retrieve_refund(&id, &RefundId::new(refund_id.clone())).await?;
            output::refund(&refund_at(&account, r), cli.json);
        }
        RefundCommand::List { charge_id } => {
            let (client, id, account) = client_for(cli, charge_id).await?;
            let mut stream = client.list_refunds(&id, ListRefunds::default());
            while let Some(item) = stream.next().await {
                output::refund_line(&refund_at(&account, item?), cli.json);
            }
        }
    }
    Ok(())
}

/// `payment providers`
/// `payment providers --test-data`: per mock, each special input and what the mock does with it,
/// with the fixtures' ordinary charge first.
pub fn test_data(json: bool) {
    for (driver, mock) in payment::mocks::drivers() {
        let inputs = (mock.test_data)();
        let fixtures = (driver.fixtures)();
        let ordinary = format!("{} from {}", fixtures.amount, fixtures.source.kind());
        if json {
            out!("{}", serde_json::json!({"name": driver.name, "ordinary_charge": ordinary, "test_data": inputs}));
            continue;
        }
        out!("{} — an ordinary charge: {ordinary}", driver.name);
        for input in inputs {
            out!("  {}: {}", input.input, input.effect);
        }
    }
}

/// `payment providers`.
pub fn providers(json: bool) {
    for driver in payment::drivers() {
        if json {
            let caps = serde_json::to_value(driver.capabilities).unwrap_or_default();
            let keys: Vec<_> = driver
                .config_keys
                .iter()
                .map(|k| serde_json::json!({"name": k.name, "doc": k.doc, "required": k.required}))
                .collect();
            out!(
                "{}",
                serde_json::json!({"name": driver.name, "description": driver.description, "capabilities": caps,
                    "settings": keys})
            );
            continue;
        }
        let c = driver.capabilities;
        let yes = |b: bool| if b { "yes" } else { "no" };
        out!("{} — {}", driver.name, driver.description);
        out!(
            "  charge: capture later {}, partial capture {}, cancel {}, list {}, async {}, 3-D Secure {}",
            yes(c.charge.capture_later),
            yes(c.charge.partial_capture),
            yes(c.charge.cancel),
            yes(c.charge.list),
            yes(c.charge.async_completion),
            yes(c.charge.customer_authentication)
        );
        out!(
            "  refund: full {}, partial {}, several {}, retrieve {}, list {}",
            yes(c.refund.full),
            yes(c.refund.partial),
            yes(c.refund.multiple_partial),
            yes(c.refund.retrieve),
            yes(c.refund.list)
        );
        let i = c.idempotency;
        out!("  create charge: {}", i.create_charge);
        let capture = if c.charge.capture_later { i.capture_charge.to_string() } else { "not offered".to_owned() };
        let cancel = if c.charge.cancel { i.cancel_charge.to_string() } else { "not offered".to_owned() };
        out!("  capture: {capture}; cancel: {cancel}");
        if c.charge.customer_authentication || c.charge.async_completion {
            out!("  complete charge: {}", i.complete_charge);
        }
        out!("  create refund: {}", i.create_refund);
        let style = match c.list.style {
            payment::ListStyle::Offset => Some("offset pages"),
            payment::ListStyle::Cursor => Some("cursor pages"),
            payment::ListStyle::Link => Some("next links"),
            payment::ListStyle::None => None,
        };
        match style {
            Some(style) => out!("  lists: {style}, at most {} per page", c.list.max_limit),
            None => out!("  lists: none (the provider has no list endpoint)"),
        }
        let keys: Vec<&str> = driver.config_keys.iter().map(|k| k.name).collect();
        out!("  settings: mode, base_url, timeout{}{}", if keys.is_empty() { "" } else { ", " }, keys.join(", "));
    }
}
