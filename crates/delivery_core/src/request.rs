//! What one POST to a hook carries: the body, and the headers in the contract's order.
//!
//! The hook's own headers (an `Authorization`, say) come between the fixed ones and the
//! Standard Webhooks ones, and may replace none of them: a receiver must be able to trust
//! `webhook-*`, and framing headers set by hand would corrupt the request.

use std::fmt;
use std::time::Duration;

use ureq::http::{HeaderName, HeaderValue};

use crate::signature::{signature_header, SigningSecrets};

/// Everything needed to send one attempt of one delivery. `Debug` leaves out header values
/// and the body: they may hold credentials and personal data.
#[derive(Clone, PartialEq, Eq)]
pub struct HookRequest {
    /// The hook's URL (validated again before sending).
    pub url: String,
    /// `webhook-id`: the execution id, the same on every retry, the receiver's idempotency key.
    pub webhook_id: String,
    /// The trigger data JSON, sent as is.
    pub body: Vec<u8>,
    /// The hook's own headers, in order.
    pub headers: Vec<(String, String)>,
    pub secrets: SigningSecrets,
    /// The hook's `timeout_ms`: the most one attempt may take, connecting included.
    pub timeout: Duration,
}

impl fmt::Debug for HookRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header_names: Vec<&str> = self.headers.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("HookRequest")
            .field("url", &self.url)
            .field("webhook_id", &self.webhook_id)
            .field("body_bytes", &self.body.len())
            .field("header_names", &header_names)
            .field("secrets", &self.secrets)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Headers a hook may not set, and why (lower case; names compare case-insensitively).
const RESERVED: [(&str, &str); 13] = [
    ("content-type", "the body is always JSON"),
    ("user-agent", "it names the sender and its version"),
    ("webhook-id", "it is a Standard Webhooks header"),
    ("webhook-timestamp", "it is a Standard Webhooks header"),
    ("webhook-signature", "it is a Standard Webhooks header"),
    ("host", "it comes from the URL"),
    ("content-length", "it is computed from the body"),
    ("transfer-encoding", "it controls the message framing"),
    ("connection", "it controls the connection"),
    ("keep-alive", "it controls the connection"),
    ("upgrade", "it controls the connection"),
    ("te", "it controls the message framing"),
    ("expect", "it changes how the body is sent"),
];

/// Why a hook's headers were rejected. Values are never repeated: they often hold tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderError {
    /// A name the worker sets itself.
    Reserved { name: String, reason: &'static str },
    /// Not an HTTP token (RFC 9110): empty, spaces, `:`, non-ASCII...
    InvalidName(String),
    /// The value has a line break or another control character.
    InvalidValue(String),
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderError::Reserved { name, reason } => {
                write!(f, "header \"{name}\" cannot be set by a hook: {reason}")
            }
            HeaderError::InvalidName(name) if name.is_empty() => write!(f, "a header name is empty"),
            HeaderError::InvalidName(name) => {
                write!(f, "\"{name}\" is not a valid header name (letters, digits and !#$%&'*+-.^_`|~ only)")
            }
            HeaderError::InvalidValue(name) => {
                write!(f, "the value of header \"{name}\" contains a line break or another control character")
            }
        }
    }
}

impl std::error::Error for HeaderError {}

/// Checks a hook's own headers: the validation `hook_create` and `hook_update` run.
pub fn validate_hook_headers(headers: &[(String, String)]) -> Result<(), HeaderError> {
    headers.iter().try_for_each(|(name, value)| validate_header(name, value))
}

fn validate_header(name: &str, value: &str) -> Result<(), HeaderError> {
    let parsed = HeaderName::from_bytes(name.as_bytes()).map_err(|_| HeaderError::InvalidName(name.to_owned()))?;
    if let Some((_, reason)) = RESERVED.iter().find(|(reserved, _)| *reserved == parsed.as_str()) {
        return Err(HeaderError::Reserved { name: name.to_owned(), reason });
    }
    HeaderValue::from_str(value).map_err(|_| HeaderError::InvalidValue(name.to_owned()))?;
    Ok(())
}

/// The headers of one attempt, in the order sent: `Content-Type`, `User-Agent`, the hook's
/// own, then `webhook-id`, `webhook-timestamp` (`timestamp`, Unix seconds of this attempt)
/// and `webhook-signature`. `version` is the extension's, for `User-Agent`.
pub fn build_headers(
    request: &HookRequest,
    version: &str,
    timestamp: i64,
) -> Result<Vec<(String, String)>, HeaderError> {
    validate_hook_headers(&request.headers)?;
    let signature = signature_header(&request.secrets, &request.webhook_id, timestamp, &request.body);
    let mut headers = Vec::with_capacity(request.headers.len() + 5);
    headers.push(("Content-Type".to_owned(), "application/json".to_owned()));
    headers.push(("User-Agent".to_owned(), format!("workflow_scheduler/{version}")));
    headers.extend(request.headers.iter().cloned());
    headers.push(("webhook-id".to_owned(), request.webhook_id.clone()));
    headers.push(("webhook-timestamp".to_owned(), timestamp.to_string()));
    headers.push(("webhook-signature".to_owned(), signature));
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signature::{sign, Secret};

    const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

    fn request(headers: &[(&str, &str)]) -> HookRequest {
        HookRequest {
            url: "http://127.0.0.1:9/".to_owned(),
            webhook_id: "0190b3a4-7c3e-7d2a-9f00-1f2e3d4c5b6a".to_owned(),
            body: br#"{"a":1}"#.to_vec(),
            headers: headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
            secrets: SigningSecrets::single(Secret::parse(SECRET).unwrap()),
            timeout: Duration::from_secs(10),
        }
    }

    fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
    }

    #[test]
    fn builds_the_contract_headers_in_order() {
        let req = request(&[("Authorization", "Bearer t0ken"), ("X-Tenant", "42")]);
        let headers = build_headers(&req, "0.2.0", 1_764_237_600).unwrap();
        let signature = sign(&req.secrets.current, &req.webhook_id, 1_764_237_600, &req.body);
        let expected = owned(&[
            ("Content-Type", "application/json"),
            ("User-Agent", "workflow_scheduler/0.2.0"),
            ("Authorization", "Bearer t0ken"),
            ("X-Tenant", "42"),
            ("webhook-id", "0190b3a4-7c3e-7d2a-9f00-1f2e3d4c5b6a"),
            ("webhook-timestamp", "1764237600"),
            ("webhook-signature", &signature),
        ]);
        assert_eq!(headers, expected);
    }

    #[test]
    fn each_attempt_has_the_same_id_and_its_own_timestamp_and_signature() {
        let req = request(&[]);
        let value = |headers: &[(String, String)], name: &str| {
            headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()).unwrap()
        };
        let first = build_headers(&req, "0.2.0", 100).unwrap();
        let retry = build_headers(&req, "0.2.0", 160).unwrap();
        assert_eq!(value(&first, "webhook-id"), value(&retry, "webhook-id"));
        assert_ne!(value(&first, "webhook-timestamp"), value(&retry, "webhook-timestamp"));
        assert_ne!(value(&first, "webhook-signature"), value(&retry, "webhook-signature"));
    }

    #[test]
    fn signs_with_both_secrets_during_rotation() {
        let mut req = request(&[]);
        let old = Secret::generate().unwrap();
        req.secrets.previous = Some(old.clone());
        let headers = build_headers(&req, "0.2.0", 7).unwrap();
        let (_, signature) = headers.last().unwrap();
        let expected = format!(
            "{} {}",
            sign(&req.secrets.current, &req.webhook_id, 7, &req.body),
            sign(&old, &req.webhook_id, 7, &req.body)
        );
        assert_eq!(signature, &expected);
    }

    #[test]
    fn accepts_ordinary_hook_headers() {
        let ok =
            owned(&[("Authorization", "Bearer abc"), ("X-Api-Key", "k"), ("x-empty", ""), ("X-Utf8", "caf\u{e9}")]);
        assert_eq!(validate_hook_headers(&ok), Ok(()));
        assert_eq!(validate_hook_headers(&[]), Ok(()));
    }

    #[test]
    fn rejects_headers_the_worker_sets_in_any_case() {
        for name in [
            "Content-Type",
            "content-type",
            "USER-AGENT",
            "Host",
            "Content-Length",
            "webhook-id",
            "Webhook-Timestamp",
            "WEBHOOK-SIGNATURE",
            "Transfer-Encoding",
            "Connection",
            "Expect",
        ] {
            let err = validate_hook_headers(&owned(&[("X-Fine", "1"), (name, "x")])).unwrap_err();
            assert!(matches!(&err, HeaderError::Reserved { name: n, .. } if n == name), "{name}: {err:?}");
            assert!(err.to_string().starts_with(&format!("header \"{name}\" cannot be set by a hook: ")), "{err}");
        }
    }

    #[test]
    fn rejects_invalid_names_and_values_without_echoing_values() {
        let cases = [
            (("", "x"), "a header name is empty"),
            (("X Space", "x"), "\"X Space\" is not a valid header name"),
            (("X-Colon:", "x"), "\"X-Colon:\" is not a valid header name"),
            (("X-Caf\u{e9}", "x"), "is not a valid header name"),
            (("X-Inject", "a\r\nHost: evil"), "the value of header \"X-Inject\" contains a line break"),
            (("X-Nul", "a\0b"), "the value of header \"X-Nul\" contains a line break or another control character"),
        ];
        for ((name, value), expected) in cases {
            let message = validate_hook_headers(&owned(&[(name, value)])).unwrap_err().to_string();
            assert!(message.contains(expected), "{name:?}: {message:?} should contain {expected:?}");
            assert!(!message.contains("evil"), "{message}");
        }
    }

    #[test]
    fn debug_leaves_out_header_values_and_the_body() {
        let shown = format!("{:?}", request(&[("Authorization", "Bearer t0ken")]));
        assert!(shown.contains("Authorization") && shown.contains("body_bytes: 7"), "{shown}");
        assert!(!shown.contains("t0ken") && !shown.contains("C2FVsBQ"), "{shown}");
    }

    #[test]
    fn building_refuses_headers_that_slipped_past_validation() {
        let req = request(&[("Host", "evil.example")]);
        assert!(matches!(build_headers(&req, "0.2.0", 1), Err(HeaderError::Reserved { .. })));
    }
}
