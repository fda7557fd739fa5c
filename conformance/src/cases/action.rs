//! When the customer must act (3-D Secure): a charge that asks for authentication comes back
//! `requires_action` with where to send the customer, and `complete_charge` finishes it once,
//! whatever the customer did, however often it is called, and when its answer is lost.

use payment_core::{
    Authentication, ChargeRecord, ChargeStatus, CompletionData, CreateCharge, DeclineReason, ErrorKind, Operation,
    Outcome, PaymentSource, RequestOptions,
};
use payment_mock_kit::{AuthenticationResult, FaultKind};

use crate::case::{Case, Profile, mock};
use crate::check::{CaseResult, Failure, expect_err};
use crate::target::Target;
use crate::{case, check};

/// Where the cases send the customer's browser back to (never opened: the mock only redirects).
pub const RETURN_URL: &str = "http://127.0.0.1:9/checkout/done";

/// Cases of this group.
pub fn cases() -> Vec<Case> {
    vec![
        case!(
            "action::challenge_passed_succeeds_and_captures_later",
            needs,
            challenge_passed_succeeds_and_captures_later
        ),
        case!("action::failed_authentication_is_its_own_decline", needs, failed_authentication_is_its_own_decline),
        case!("action::abandoned_expires", needs, abandoned_expires),
        case!("action::complete_before_the_customer_is_typed", needs, complete_before_the_customer_is_typed),
        case!("action::complete_twice_gives_one_result", needs, complete_twice_gives_one_result),
        case!("action::lost_complete_answer_authorizes_once", needs_repeatable, lost_complete_answer_authorizes_once),
        case!("action::frictionless_asks_nothing_of_the_customer", needs, frictionless_asks_nothing_of_the_customer),
        case!("action::declined_after_authentication", needs, declined_after_authentication),
        case!("action::unsupported_is_refused_before_any_request", needs_unsupported, unsupported_is_refused),
    ]
}

fn needs(p: &Profile) -> Option<&'static str> {
    (!p.caps.charge.customer_authentication).then_some("provider has no customer authentication").or(mock(p))
}

fn needs_repeatable(p: &Profile) -> Option<&'static str> {
    needs(p).or(crate::case::repeatable(p, Operation::CompleteCharge))
}

fn needs_unsupported(p: &Profile) -> Option<&'static str> {
    p.caps.charge.customer_authentication.then_some("provider offers customer authentication")
}

fn sources(t: &Target) -> Result<&payment_core::AuthenticationFixtures, Failure> {
    t.fixtures.authentication.as_ref().ok_or_else(|| Failure::new("the provider's fixtures name no 3-D Secure cards"))
}

fn request(t: &Target, source: PaymentSource, capture: bool) -> CreateCharge {
    let mut r = t.charge_request(t.fixtures.amount, capture);
    r.source = source;
    r.authenticate(
        Authentication::required(RETURN_URL)
            .email("buyer@example.com")
            .phone("+819012345678")
            .browser("text/html,application/xhtml+xml", "Mozilla/5.0 (conformance)"),
    )
}

/// Creates a charge that must wait for the customer, and checks what it says to do.
async fn awaiting(t: &Target, source: PaymentSource, capture: bool) -> Result<ChargeRecord, Failure> {
    let created = t.client.create_charge(request(t, source, capture), &RequestOptions::default()).await?;
    check!(created.status == ChargeStatus::RequiresAction, "expected requires_action, got {}", created.status);
    let action = created.next_action.as_ref().ok_or_else(|| Failure::new("requires_action without a next action"))?;
    check!(action.url.as_deref().is_some_and(|u| u.starts_with("http")), "the next action has no URL: {action:?}");
    check!(action.method.is_some(), "the next action has no method: {action:?}");
    Ok(created)
}

fn act(t: &Target, c: &ChargeRecord, result: AuthenticationResult) -> Result<CompletionData, Failure> {
    let answer = t.control()?.authenticate_charge(c.id.as_str(), result).map_err(|e| Failure::new(e.to_string()))?;
    Ok(CompletionData(answer.get("data").cloned().unwrap_or_default()))
}

async fn complete(t: &Target, c: &ChargeRecord, data: &CompletionData) -> payment_core::Result<ChargeRecord> {
    t.client.complete_charge(&c.id, data, &RequestOptions::default()).await
}

/// The customer acts as `result` says at every step and the app completes after each, until
/// the charge no longer waits for them (Worldpay: device data, then a challenge).
async fn finish(
    t: &Target,
    created: &ChargeRecord,
    result: AuthenticationResult,
) -> Result<payment_core::Result<ChargeRecord>, Failure> {
    let mut current = created.clone();
    for _ in 0..3 {
        let data = act(t, &current, result)?;
        match complete(t, &current, &data).await {
            Ok(next) if next.status == ChargeStatus::RequiresAction && next.next_action.is_some() => current = next,
            other => return Ok(other),
        }
    }
    Err(Failure::new("the charge still waits for the customer after three steps"))
}

/// Takes the device-data steps that precede the customer's own (none for a plain redirect).
async fn past_device_data(t: &Target, created: &ChargeRecord) -> Result<ChargeRecord, Failure> {
    let mut current = created.clone();
    while current.next_action.as_ref().is_some_and(|a| a.kind == payment_core::NextActionKind::DeviceData) {
        let data = act(t, &current, AuthenticationResult::Success)?;
        current = complete(t, &current, &data).await?;
        check!(current.status == ChargeStatus::RequiresAction, "after device data: {}", current.status);
    }
    Ok(current)
}

/// Authenticated: an authorization that captures later as any other.
pub async fn challenge_passed_succeeds_and_captures_later(t: &Target) -> CaseResult {
    let capture_later = t.client.capabilities().charge.capture_later;
    let created = awaiting(t, sources(t)?.challenge.clone(), !capture_later).await?;
    let done = finish(t, &created, AuthenticationResult::Success).await??;
    if capture_later {
        check!(done.status == ChargeStatus::Authorized, "expected authorized, got {}", done.status);
        let captured = t.client.capture_charge(&done.id, None, &RequestOptions::default()).await?;
        t.expect_paid(&captured, t.fixtures.amount)
    } else {
        t.expect_paid(&done, t.fixtures.amount)
    }
}

/// Failed authentication: a definite decline with its own reason, and the charge failed.
pub async fn failed_authentication_is_its_own_decline(t: &Target) -> CaseResult {
    let created = awaiting(t, sources(t)?.challenge.clone(), true).await?;
    let e =
        expect_err(finish(t, &created, AuthenticationResult::Failure).await?, "completing a failed authentication")?;
    check!(e.kind() == ErrorKind::CardDeclined(DeclineReason::AuthenticationFailed), "got {e}");
    check!(e.outcome() == Outcome::Definite, "a failed authentication is definite: {e}");
    let read = t.client.retrieve_charge(&created.id).await?;
    check!(read.status == ChargeStatus::Failed, "expected failed, got {}", read.status);
    Ok(())
}

/// Nobody finished: past the provider's window the charge is failed and cannot be completed.
pub async fn abandoned_expires(t: &Target) -> CaseResult {
    let window = sources(t)?.expires_within;
    let created = awaiting(t, sources(t)?.challenge.clone(), true).await?;
    let data = act(t, &created, AuthenticationResult::Abandon)?;
    t.control()?.advance_clock(window);
    let read = t.client.retrieve_charge(&created.id).await?;
    check!(read.status == ChargeStatus::Failed, "expected failed after {window:?}, got {}", read.status);
    let e = expect_err(complete(t, &created, &data).await, "completing an expired step")?;
    let expired_as = sources(t)?.expired_as;
    check!(e.kind() == ErrorKind::CardDeclined(expired_as), "expected a decline for {expired_as:?}, got {e}");
    Ok(())
}

/// Completing before the customer acted: a typed error, and nothing changed.
pub async fn complete_before_the_customer_is_typed(t: &Target) -> CaseResult {
    let created = awaiting(t, sources(t)?.challenge.clone(), true).await?;
    let e = expect_err(complete(t, &created, &CompletionData::none()).await, "completing too early")?;
    check!(e.kind() == ErrorKind::ActionRequired, "expected action_required, got {e}");
    check!(e.outcome() == Outcome::Definite, "{e}");
    let read = t.client.retrieve_charge(&created.id).await?;
    check!(read.status == ChargeStatus::RequiresAction, "the charge moved: {}", read.status);
    // The same at the customer's own step, when device data came first.
    let current = past_device_data(t, &created).await?;
    if current.next_action != created.next_action {
        let e = expect_err(complete(t, &current, &CompletionData::none()).await, "completing before the challenge")?;
        check!(e.kind() == ErrorKind::ActionRequired, "expected action_required at the challenge, got {e}");
        let read = t.client.retrieve_charge(&created.id).await?;
        check!(read.status == ChargeStatus::RequiresAction, "the charge moved: {}", read.status);
    }
    // And the customer can still finish.
    t.expect_paid(&finish(t, &current, AuthenticationResult::Success).await??, t.fixtures.amount)
}

/// How many completions of one step the mock carried out: for each completion path, its
/// requests answered 2xx, counted once per idempotency key (a replay of one is not another); the
/// most of any step.
fn completions_done(t: &Target) -> Result<usize, Failure> {
    let paths = t.operations.map(|paths| paths(Operation::CompleteCharge)).unwrap_or_default();
    let requests = t.control()?.requests();
    Ok(paths
        .iter()
        .map(|p| {
            requests
                .iter()
                .filter(|r| r.status.is_some_and(|s| (200..300).contains(&s)))
                .filter(|r| payment_mock_kit::faults::path_matches(p, &r.path))
                .map(|r| r.headers.get("idempotency-key").cloned().unwrap_or_else(|| format!("#{}", r.seq)))
                .collect::<std::collections::BTreeSet<String>>()
                .len()
        })
        .max()
        .unwrap_or(0))
}

/// Completing again (another key) answers the same charge, authorized once.
pub async fn complete_twice_gives_one_result(t: &Target) -> CaseResult {
    let created = awaiting(t, sources(t)?.challenge.clone(), true).await?;
    let first = finish(t, &created, AuthenticationResult::Success).await??;
    let second = complete(t, &created, &CompletionData::none()).await?;
    check!(first.id == second.id && first.status == second.status, "{first:?} then {second:?}");
    t.expect_paid(&second, t.fixtures.amount)?;
    let done = completions_done(t)?;
    check!(done <= 1, "the provider carried out {done} completions of one charge");
    let read = t.client.retrieve_charge(&created.id).await?;
    t.expect_paid(&read, t.fixtures.amount)
}

/// The completion's answer is lost after the provider acted: the retry answers it, once.
pub async fn lost_complete_answer_authorizes_once(t: &Target) -> CaseResult {
    let created = awaiting(t, sources(t)?.challenge.clone(), true).await?;
    // The fault is on the customer's own step: a device-data step's answer carries the
    // challenge, which nothing can ask for again.
    let current = past_device_data(t, &created).await?;
    let data = act(t, &current, AuthenticationResult::Success)?;
    t.fault_on(Operation::CompleteCharge, FaultKind::DropAfterCommit)?;
    let done = complete(t, &current, &data).await?;
    t.expect_paid(&done, t.fixtures.amount)?;
    let carried_out = completions_done(t)?;
    check!(carried_out <= 1, "the provider carried out {carried_out} completions of one charge");
    let stats = t.control()?.stats();
    check!(stats.charges_by_reference.values().all(|n| *n == 1), "a second charge: {:?}", stats.charges_by_reference);
    t.expect_paid(&t.client.retrieve_charge(&created.id).await?, t.fixtures.amount)
}

/// Frictionless: the customer's browser passes through without a question.
pub async fn frictionless_asks_nothing_of_the_customer(t: &Target) -> CaseResult {
    let created =
        t.client.create_charge(request(t, sources(t)?.frictionless.clone(), true), &RequestOptions::default()).await?;
    if created.next_action.as_ref().is_some_and(|a| a.kind == payment_core::NextActionKind::DeviceData) {
        // The browser's device data goes to the issuer, which then decides without a question.
        let data = act(t, &created, AuthenticationResult::Success)?;
        let done = complete(t, &created, &data).await?;
        check!(done.status != ChargeStatus::RequiresAction, "the issuer asked a question: {:?}", done.next_action);
        return t.expect_paid(&done, t.fixtures.amount);
    }
    if created.status == ChargeStatus::RequiresAction {
        let url = created.next_action.as_ref().and_then(|a| a.url.clone()).unwrap_or_default();
        let browser = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Failure::new(e.to_string()))?;
        let page = browser.get(&url).send().await.map_err(|e| Failure::new(format!("GET {url}: {e}")))?;
        let back = page.headers().get("location").and_then(|l| l.to_str().ok()).map(str::to_owned);
        check!(page.status().is_redirection(), "the page asked something: {}", page.status());
        check!(back.as_deref() == Some(RETURN_URL), "sent back to {back:?}");
        let done = complete(t, &created, &CompletionData::none()).await?;
        return t.expect_paid(&done, t.fixtures.amount);
    }
    t.expect_paid(&created, t.fixtures.amount)
}

/// Authenticated, then the issuer declines: the decline's own reason, not an authentication one.
pub async fn declined_after_authentication(t: &Target) -> CaseResult {
    let (source, reason) = sources(t)?.declined_after.clone();
    let created = awaiting(t, source, true).await?;
    let e =
        expect_err(finish(t, &created, AuthenticationResult::Success).await?, "completing a card the issuer declines")?;
    check!(e.kind() == ErrorKind::CardDeclined(reason), "expected {reason:?}, got {e}");
    Ok(())
}

/// A provider without customer authentication refuses the request before sending anything.
pub async fn unsupported_is_refused(t: &Target) -> CaseResult {
    let r = t.fixtures.charge(Some(t.reference())).authenticate(Authentication::required(RETURN_URL));
    let e = expect_err(t.client.create_charge(r, &RequestOptions::default()).await, "3-D Secure where unsupported")?;
    check!(e.kind() == ErrorKind::Unsupported, "expected unsupported, got {e}");
    Ok(())
}
