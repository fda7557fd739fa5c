//! Routed configs (`[[routes]]`): `charge create` routes (failovers logged on stderr), every
//! other charge and refund command goes to the account its charge id names, and `route explain`.

use payment::routing::{PaymentFacts, PaymentKind, RouteContext, RoutedClient, split};
use payment::{ChargeId, CreateCharge, Currency, PaymentClient, RequestOptions};

use crate::args::{Cli, RouteCommand};
use crate::failure::{Failure, usage};
use crate::output;

/// The routed client, when the config routes (has `[[routes]]`) and `--provider` does not pick one.
pub async fn routed(cli: &Cli) -> Result<Option<RoutedClient>, Failure> {
    if cli.provider.is_some() {
        return Ok(None);
    }
    let mut config = crate::config::config_without_provider(cli)?;
    if !config.is_routed() || config.provider.is_some() {
        return Ok(None);
    }
    if cli.base_url.is_some() {
        return Err(usage(
            "--base-url names one provider's server, and this config routes over several accounts: set `base_url` in each account's table",
        ));
    }
    if let Some(t) = &cli.timeout {
        payment::time::parse_duration(t).map_err(|why| usage(format!("--timeout {t:?} {why}")))?;
        for settings in config.providers.values_mut() {
            settings.set("timeout", t.clone());
        }
        for account in config.accounts.values_mut() {
            account.settings.set("timeout", t.clone());
        }
    }
    Ok(Some(payment::connect_routed(&config).await?))
}

/// Routes one new charge and prints it; each failover is a line on stderr.
pub async fn create(
    router: &RoutedClient,
    request: CreateCharge,
    region: Option<String>,
    options: &RequestOptions,
    json: bool,
) -> Result<(), Failure> {
    let routed = router.route_charge(request, &RouteContext { region }, options).await;
    for f in &routed.failovers {
        eprintln!("failover: account {} did not charge ({}); trying the next", f.account, f.reason);
    }
    let record = routed.result?;
    if !json {
        eprintln!(
            "routed by rule {} to account {}",
            routed.rule.as_deref().unwrap_or("-"),
            routed.account.as_deref().unwrap_or("-")
        );
    }
    output::charge(&record, json);
    Ok(())
}

/// The client of the account a routed charge id names (journaled in the router's journal), the
/// provider's own id, and the account.
pub fn account_for(router: &RoutedClient, id: &str) -> Result<(PaymentClient, ChargeId, String), Failure> {
    let routed = ChargeId::new(id);
    let (name, inner) = split(&routed)?;
    let account = router.account(name)?;
    let client = account.client.clone().with_journal(router.journal().clone());
    Ok((client, inner, name.to_owned()))
}

/// `payment route …`
pub async fn run(cli: &Cli, command: &RouteCommand) -> Result<(), Failure> {
    let RouteCommand::Explain { currency, amount, region, metadata, authorize, idempotency_key } = command;
    let currency = Currency::from_code(currency).map_err(|e| usage(format!("--currency: {e}")))?;
    let amount: i64 = amount
        .trim()
        .parse()
        .map_err(|_| usage(format!("--amount must be a whole number of minor units, got {amount:?}")))?;
    let metadata = crate::input::metadata(metadata)?;
    let Some(router) = routed(cli).await? else {
        return Err(usage("the config has no [[routes]] (or --provider picks one provider): nothing to explain"));
    };
    let facts = PaymentFacts {
        operation: if *authorize { PaymentKind::Authorize } else { PaymentKind::Charge },
        currency,
        amount,
        region: region.as_deref(),
        metadata: &metadata,
    };
    let explanation = router.explain(&facts, idempotency_key);
    if cli.json {
        println!("{}", serde_json::to_string(&explanation).unwrap_or_default());
    } else {
        print!("{explanation}");
    }
    match &explanation.matched {
        None => Err(payment::Error::config("no [[routes]] rule matches this payment").into()),
        Some(rule) if !explanation.chain.iter().any(|t| t.eligible) => {
            Err(payment::Error::unsupported(format!("no account of rule {rule} can take this payment now")).into())
        }
        Some(_) => Ok(()),
    }
}
