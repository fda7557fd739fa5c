//! `payment mock-control --url URL …`: the mock's control API (`/__mock__/…`) from the shell, so
//! driving a running mock needs neither curl nor the console.

use std::time::Duration;

use serde_json::Value;

use crate::args::{ClockCommand, FaultsCommand, MockControlArgs, MockControlCommand};
use crate::failure::{Failure, usage};

/// The mock at `url`, over HTTP.
struct Control {
    http: reqwest::Client,
    url: String,
}

impl Control {
    fn new(url: &str) -> Result<Control, Failure> {
        let parsed = url::Url::parse(url).map_err(|e| usage(format!("--url {url:?} is not a URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(usage(format!("--url {url:?} must be the http:// URL `payment mock` printed")));
        }
        Ok(Control { http: reqwest::Client::new(), url: url.trim_end_matches('/').to_owned() })
    }

    /// Sends one control request; the mock's error (`{"error": …}` with its status) is a failure.
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value, Failure> {
        let mut request = self.http.request(method, format!("{}/__mock__/{path}", self.url));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let unreachable = |e: reqwest::Error| {
            Failure::Payment(payment::Error::new(
                payment::ErrorKind::Network,
                format!("the mock at {} did not answer: {e}", self.url),
            ))
        };
        let response = request.send().await.map_err(unreachable)?;
        let status = response.status();
        let text = response.text().await.map_err(unreachable)?;
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if status.is_success() {
            return Ok(value);
        }
        let message = value["error"]["message"].as_str().or(value["error"].as_str()).map(str::to_owned);
        Err(Failure::Payment(payment::Error::new(
            if status.as_u16() == 404 { payment::ErrorKind::NotFound } else { payment::ErrorKind::InvalidRequest },
            format!("the mock answered {status}: {}", message.unwrap_or_else(|| value.to_string())),
        )))
    }
}

/// How far to move the clock: `N` seconds, or `Ns`, `Nm`, `Nh`, `Nd`.
fn clock_duration(text: &str) -> Result<Duration, Failure> {
    let t = text.trim();
    let (digits, unit) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&t[..i], c),
        _ => (t, 's'),
    };
    let scale = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        _ => return Err(usage(format!("{text:?} is not a duration such as 90s, 15m, 2h or 8d"))),
    };
    let seconds = digits
        .trim()
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .filter(|s| (1..=10 * 366 * 86_400).contains(s))
        .ok_or_else(|| usage(format!("{text:?} is not a duration such as 90s, 15m, 2h or 8d (up to ten years)")))?;
    Ok(Duration::from_secs(seconds))
}

/// The rules `json` gives: one rule, a list of rules, or a plan with `rules`.
fn rules_of(json: &str) -> Result<Vec<Value>, Failure> {
    let value: Value = serde_json::from_str(json).map_err(|e| usage(format!("the rule is not JSON: {e}")))?;
    match value {
        Value::Array(rules) => Ok(rules),
        Value::Object(ref o) if o.contains_key("rules") => match &o["rules"] {
            Value::Array(rules) => Ok(rules.clone()),
            _ => Err(usage("`rules` must be a list")),
        },
        Value::Object(_) => Ok(vec![value]),
        _ => Err(usage("give a rule object, a list of rules, or {\"rules\": [...]}")),
    }
}

/// Whether a logged request passes the `requests` filters.
fn wanted(r: &Value, status: Option<&str>, method: Option<&str>, path: Option<&str>) -> bool {
    let answered = r["status"].as_u64();
    let status_ok = match status {
        None => true,
        Some("none") => answered.is_none(),
        Some(s) if s.len() == 3 && s.ends_with("xx") => answered.is_some_and(|a| a.to_string().starts_with(&s[..1])),
        Some(s) => answered.is_some_and(|a| a.to_string() == s),
    };
    status_ok
        && method.is_none_or(|m| r["method"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(m)))
        && path.is_none_or(|p| r["path"].as_str().is_some_and(|x| x.starts_with(p)))
}

/// One request as a line: number, method, path, status (or `dropped`), latency, fault.
fn request_line(r: &Value) -> String {
    let status = r["status"].as_u64().map_or_else(|| "dropped".to_owned(), |s| s.to_string());
    let fault = r["fault"].as_str().map(|f| format!("  fault {f}")).unwrap_or_default();
    format!(
        "#{} {} {} {} {}ms{}",
        r["seq"],
        r["method"].as_str().unwrap_or("?"),
        r["path"].as_str().unwrap_or("?"),
        status,
        r["latency_ms"],
        fault
    )
}

/// `payment mock-control …`
pub async fn run(args: &MockControlArgs, json: bool) -> Result<(), Failure> {
    let control = Control::new(&args.url)?;
    let print = |value: &Value, text: String| {
        if json {
            out!("{value}");
        } else {
            out!("{text}");
        }
    };
    match &args.command {
        MockControlCommand::Complete { id } => {
            let answer = control.call(reqwest::Method::POST, &format!("charges/{id}/complete"), None).await?;
            print(&answer, format!("completed {id}"));
        }
        MockControlCommand::Authenticate { id, result } => {
            let body = serde_json::json!({"result": result});
            let answer = control.call(reqwest::Method::POST, &format!("charges/{id}/authenticate"), Some(body)).await?;
            // A step that returns nothing (a redirect back, a challenge) is completed without data.
            let data = match &answer["data"] {
                serde_json::Value::Null => String::new(),
                d => format!(" --data '{}'", serde_json::to_string(d).unwrap_or_default()),
            };
            print(&answer, format!("{result} on {id}; complete it with: payment charge complete {id}{data}"));
        }
        MockControlCommand::Clock(ClockCommand::Advance { duration }) => {
            let by = clock_duration(duration)?;
            let body = serde_json::json!({"seconds": by.as_secs()});
            let answer = control.call(reqwest::Method::POST, "clock/advance", Some(body)).await?;
            print(&answer, format!("clock now {} (moved on {}s in all)", answer["now"], answer["offset_seconds"]));
        }
        MockControlCommand::Faults(FaultsCommand::Add { rules }) => {
            let mut plan = control.call(reqwest::Method::GET, "faults", None).await?;
            let added = rules_of(rules)?;
            let count = added.len();
            match plan.get_mut("rules").and_then(Value::as_array_mut) {
                Some(existing) => existing.extend(added),
                None => plan = serde_json::json!({"rules": added}),
            }
            let answer = control.call(reqwest::Method::POST, "faults", Some(plan)).await?;
            print(&answer, format!("added {count} rule(s); the plan has {}", answer["rules"]));
        }
        MockControlCommand::Faults(FaultsCommand::Clear) => {
            let answer = control.call(reqwest::Method::DELETE, "faults", None).await?;
            print(&answer, "faults cleared".to_owned());
        }
        MockControlCommand::Faults(FaultsCommand::Show) => {
            let plan = control.call(reqwest::Method::GET, "faults", None).await?;
            print(&plan, serde_json::to_string_pretty(&plan).unwrap_or_default());
        }
        MockControlCommand::Reset => {
            let answer = control.call(reqwest::Method::POST, "reset", None).await?;
            print(&answer, "reset".to_owned());
        }
        MockControlCommand::Requests { follow, status, method, path } => {
            let mut since = 0;
            loop {
                let log = control.call(reqwest::Method::GET, &format!("requests?since={since}"), None).await?;
                for r in log.as_array().into_iter().flatten() {
                    since = since.max(r["seq"].as_u64().unwrap_or(since));
                    if wanted(r, status.as_deref(), method.as_deref(), path.as_deref()) {
                        print(r, request_line(r));
                    }
                }
                if !follow {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_filters() {
        assert_eq!(clock_duration("90").ok(), Some(Duration::from_secs(90)));
        assert_eq!(clock_duration("8d").ok(), Some(Duration::from_secs(8 * 86_400)));
        assert_eq!(clock_duration("2h").ok(), Some(Duration::from_secs(7_200)));
        for bad in ["", "0", "5w", "-1s", "99999999999d", "d"] {
            assert!(clock_duration(bad).is_err(), "{bad}");
        }
        let r = serde_json::json!({"seq": 3, "method": "POST", "path": "/v1/charges", "status": 503});
        assert!(wanted(&r, Some("5xx"), Some("post"), Some("/v1/")));
        assert!(wanted(&r, Some("503"), None, None));
        assert!(!wanted(&r, Some("4xx"), None, None));
        assert!(!wanted(&r, Some("none"), None, None));
        assert!(!wanted(&r, None, Some("GET"), None));
        assert_eq!(rules_of(r#"{"kind":"delay","ms":5}"#).map(|r| r.len()).ok(), Some(1));
        assert_eq!(
            rules_of(r#"{"rules":[{"kind":"reset_before_commit"},{"kind":"extra_fields"}]}"#).map(|r| r.len()).ok(),
            Some(2)
        );
        assert!(rules_of("3").is_err());
    }
}
