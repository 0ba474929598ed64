//! The `callback` field of a start request: parsed strictly (unknown members and
//! wrong types are `400`), checked against the server's bounds (`422`) and the
//! URL guard (`422 url-not-allowed`).

use base64::Engine;
use serde_json::{Map, Value};

use super::request::malformed;
use crate::callbacks::{Backoff, Callback, Method, RetryPolicy};
use crate::config::Config;
use crate::problem::{Problem, ProblemKind};
use crate::url_guard;

/// The shortest and longest secret a job may bring.
const SECRET_LENGTH: std::ops::RangeInclusive<usize> = 8..=512;

fn invalid(detail: impl Into<String>) -> Problem {
    Problem::new(ProblemKind::InvalidRequest, detail)
}

fn string(fields: &mut Map<String, Value>, key: &str) -> Result<Option<String>, Problem> {
    match fields.remove(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(malformed(format!("`callback.{key}` must be a string"))),
    }
}

fn integer(fields: &mut Map<String, Value>, key: &str) -> Result<Option<i64>, Problem> {
    match fields.remove(key) {
        None => Ok(None),
        Some(value) => value
            .as_i64()
            .map(Some)
            .ok_or_else(|| malformed(format!("`callback.retry.{key}` must be an integer"))),
    }
}

fn no_more(fields: &Map<String, Value>, prefix: &str) -> Result<(), Problem> {
    match fields.keys().next() {
        Some(other) => Err(malformed(format!("unknown field `{prefix}.{other}`"))),
        None => Ok(()),
    }
}

/// Turn the `callback` value of a start request into a [`Callback`].
pub async fn parse(value: Value, config: &Config) -> Result<Callback, Problem> {
    let limits = &config.callbacks;
    let Value::Object(mut fields) = value else {
        return Err(malformed(
            "`callback` must be an object with at least a `url`",
        ));
    };
    let url = string(&mut fields, "url")?.ok_or_else(|| malformed("`callback.url` is required"))?;
    let method = match string(&mut fields, "method")?.as_deref() {
        None | Some("POST") => Method::Post,
        Some("GET") => Method::Get,
        Some(other) => {
            return Err(invalid(format!(
                "`callback.method` is `{other}`; it must be POST or GET"
            )));
        }
    };
    let secret = string(&mut fields, "secret")?;
    if let Some(secret) = &secret
        && !SECRET_LENGTH.contains(&secret.chars().count())
    {
        return Err(invalid(format!(
            "`callback.secret` must have {} to {} characters",
            SECRET_LENGTH.start(),
            SECRET_LENGTH.end()
        )));
    }
    if let Some(rest) = secret.as_deref().and_then(|s| s.strip_prefix("whsec_"))
        && base64::engine::general_purpose::STANDARD
            .decode(rest)
            .is_err()
    {
        return Err(invalid(
            "`callback.secret` starts with whsec_ but the rest is not base64; \
             give a Standard Webhooks secret (whsec_ + base64 of the key) or a plain text secret",
        ));
    }
    let mut retry = RetryPolicy {
        max_attempts: limits.default_max_attempts,
        initial_interval_seconds: limits.default_interval_seconds,
        backoff: Backoff::Exponential,
    };
    match fields.remove("retry") {
        None => {}
        Some(Value::Object(mut policy)) => {
            if let Some(n) = integer(&mut policy, "maxAttempts")? {
                if n < 1 || n > i64::from(limits.max_attempts) {
                    return Err(invalid(format!(
                        "`callback.retry.maxAttempts` is {n}; it must be between 1 and {}",
                        limits.max_attempts
                    )));
                }
                retry.max_attempts = n as u32;
            }
            if let Some(n) = integer(&mut policy, "initialIntervalSeconds")? {
                let (min, max) = (limits.min_interval_seconds, limits.max_interval_seconds);
                if n < min as i64 || n > max as i64 {
                    return Err(invalid(format!(
                        "`callback.retry.initialIntervalSeconds` is {n}; it must be between {min} and {max}"
                    )));
                }
                retry.initial_interval_seconds = n as u64;
            }
            match policy.remove("backoff") {
                None => {}
                Some(Value::String(b)) if b == "exponential" => {
                    retry.backoff = Backoff::Exponential
                }
                Some(Value::String(b)) if b == "fixed" => retry.backoff = Backoff::Fixed,
                Some(Value::String(b)) => {
                    return Err(invalid(format!(
                        "`callback.retry.backoff` is `{b}`; it must be exponential or fixed"
                    )));
                }
                Some(_) => return Err(malformed("`callback.retry.backoff` must be a string")),
            }
            no_more(&policy, "callback.retry")?;
        }
        Some(_) => return Err(malformed("`callback.retry` must be an object")),
    }
    no_more(&fields, "callback")?;
    url_guard::check(&url, config.allow_private_networks)
        .await
        .map_err(|p| {
            let detail = p.detail.clone().unwrap_or_default();
            Problem::new(
                ProblemKind::UrlNotAllowed,
                format!("`callback.url`: {detail}"),
            )
        })?;
    Ok(Callback::new(url, method, secret, retry))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config() -> Config {
        Config {
            allow_private_networks: true,
            ..Config::default()
        }
    }

    #[tokio::test]
    async fn takes_defaults_and_overrides() {
        let callback = parse(json!({"url": "http://127.0.0.1:9/cb"}), &config())
            .await
            .unwrap();
        assert_eq!(callback.method, Method::Post);
        assert_eq!(callback.retry.max_attempts, 5);
        assert_eq!(callback.retry.backoff, Backoff::Exponential);
        let callback = parse(
            json!({"url": "http://127.0.0.1:9/cb", "method": "GET", "secret": "whsec_abcdefgh",
                   "retry": {"maxAttempts": 3, "initialIntervalSeconds": 2, "backoff": "fixed"}}),
            &config(),
        )
        .await
        .unwrap();
        assert_eq!(callback.method, Method::Get);
        assert_eq!(
            callback.retry,
            RetryPolicy {
                max_attempts: 3,
                initial_interval_seconds: 2,
                backoff: Backoff::Fixed
            }
        );
    }

    #[tokio::test]
    async fn refuses_bad_callbacks() {
        let cases = [
            (json!("http://x"), ProblemKind::MalformedRequest),
            (json!({}), ProblemKind::MalformedRequest),
            (json!({"url": 1}), ProblemKind::MalformedRequest),
            (
                json!({"url": "http://127.0.0.1/", "extra": 1}),
                ProblemKind::MalformedRequest,
            ),
            (
                json!({"url": "http://127.0.0.1/", "retry": {"maxAttempts": "3"}}),
                ProblemKind::MalformedRequest,
            ),
            (
                json!({"url": "http://127.0.0.1/", "method": "PUT"}),
                ProblemKind::InvalidRequest,
            ),
            (
                json!({"url": "http://127.0.0.1/", "secret": "short"}),
                ProblemKind::InvalidRequest,
            ),
            (
                json!({"url": "http://127.0.0.1/", "retry": {"maxAttempts": 0}}),
                ProblemKind::InvalidRequest,
            ),
            (
                json!({"url": "http://127.0.0.1/", "retry": {"maxAttempts": 21}}),
                ProblemKind::InvalidRequest,
            ),
            (
                json!({"url": "http://127.0.0.1/", "retry": {"initialIntervalSeconds": 0}}),
                ProblemKind::InvalidRequest,
            ),
            (
                json!({"url": "http://127.0.0.1/", "retry": {"backoff": "linear"}}),
                ProblemKind::InvalidRequest,
            ),
            (
                json!({"url": "ftp://127.0.0.1/"}),
                ProblemKind::UrlNotAllowed,
            ),
        ];
        for (value, kind) in cases {
            let problem = parse(value.clone(), &config()).await.unwrap_err();
            assert_eq!(problem.kind, kind, "{value}: {problem}");
        }
    }

    #[tokio::test]
    async fn the_guard_applies_without_private_networks() {
        let strict = Config::default();
        for url in [
            "http://127.0.0.1/cb",
            "http://2130706433/",
            "http://[::ffff:10.0.0.1]/",
            "http://169.254.169.254/",
        ] {
            let problem = parse(json!({"url": url}), &strict).await.unwrap_err();
            assert_eq!(problem.kind, ProblemKind::UrlNotAllowed, "{url}");
        }
    }
}
