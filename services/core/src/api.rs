//! The management API's envelope, in Zigbee2MQTT's shape: a request on
//! `<prefix>/<node>/request/<cmd>` is answered on `<prefix>/<node>/response/<cmd>` with
//! `{"status","data","error","transaction"}`; the caller's `transaction` is echoed.

use serde::Serialize;
use serde_json::{Map, Value};

/// A parsed request: its body (a JSON object, `{}` when the payload was empty) and the
/// caller's transaction, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The request's fields, without `transaction`.
    pub body: Map<String, Value>,
    /// Echoed in the response so the caller can match it.
    pub transaction: Option<Value>,
}

/// Why a request payload was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// Not JSON.
    #[error("request is not valid JSON: {0}")]
    NotJson(String),
    /// JSON, but not an object.
    #[error("request must be a JSON object (or empty)")]
    NotObject,
}

impl Request {
    /// Parses a request payload: empty, or a JSON object.
    pub fn parse(payload: &[u8]) -> Result<Self, RequestError> {
        if payload.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self { body: Map::new(), transaction: None });
        }
        let value: Value =
            serde_json::from_slice(payload).map_err(|e| RequestError::NotJson(e.to_string()))?;
        let Value::Object(mut body) = value else { return Err(RequestError::NotObject) };
        let transaction = body.remove("transaction");
        Ok(Self { body, transaction })
    }

    /// The transaction of a payload that failed to parse, when one can still be found, so even
    /// an error response can be matched.
    pub fn salvage_transaction(payload: &[u8]) -> Option<Value> {
        serde_json::from_slice::<Value>(payload).ok()?.get("transaction").cloned()
    }
}

/// `ok` or `error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The command was carried out.
    Ok,
    /// The command was refused; nothing changed.
    Error,
}

/// The answer to a request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Response {
    /// `ok` or `error`.
    pub status: Status,
    /// The result (`{}` on error).
    pub data: Value,
    /// What went wrong, on error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The caller's transaction, echoed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction: Option<Value>,
}

impl Response {
    /// Success with `data`.
    pub fn ok(data: Value, transaction: Option<Value>) -> Self {
        Self { status: Status::Ok, data, error: None, transaction }
    }

    /// Refusal with a reason.
    pub fn error(error: impl Into<String>, transaction: Option<Value>) -> Self {
        Self {
            status: Status::Error,
            data: Value::Object(Map::new()),
            error: Some(error.into()),
            transaction,
        }
    }

    /// The JSON bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a response should always serialize")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_empty_payload_is_an_empty_request() {
        let r = Request::parse(b"  ").unwrap();
        assert!(r.body.is_empty());
        assert_eq!(r.transaction, None);
    }

    #[test]
    fn the_transaction_is_taken_out_of_the_body() {
        let r = Request::parse(br#"{"transaction":"t1","x":1}"#).unwrap();
        assert_eq!(r.transaction, Some(json!("t1")));
        assert_eq!(r.body.get("x"), Some(&json!(1)));
        assert!(!r.body.contains_key("transaction"));
    }

    #[test]
    fn malformed_requests_are_refused_with_a_reason() {
        assert!(matches!(Request::parse(b"{nope"), Err(RequestError::NotJson(_))));
        assert_eq!(Request::parse(b"[1]"), Err(RequestError::NotObject));
        assert_eq!(Request::salvage_transaction(br#"["x"]"#), None);
    }

    #[test]
    fn responses_have_zigbee2mqtts_shape() {
        let ok: Value =
            serde_json::from_slice(&Response::ok(json!({"a":1}), Some(json!(7))).to_bytes())
                .unwrap();
        assert_eq!(ok, json!({"status":"ok","data":{"a":1},"transaction":7}));
        let err: Value = serde_json::from_slice(&Response::error("bad", None).to_bytes()).unwrap();
        assert_eq!(err, json!({"status":"error","data":{},"error":"bad"}));
    }
}
