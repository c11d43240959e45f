//! Turning a verified body into typed JSON: the content-type gate (JSON, and
//! for GitHub its `payload=` form encoding), a UTF-8 check, and decoding that
//! names the JSON path of the first wrong field. Nothing here indexes into
//! loose JSON: shapes are serde structs, so a wrong shape is an error value,
//! never a panic.

use std::borrow::Cow;

use serde::de::DeserializeOwned;

use super::{Headers, WebhookError};

/// The media type of the body, lower-cased, without parameters, if sent.
fn media_type(headers: &Headers) -> Option<String> {
    let ct = headers.get("content-type")?;
    let essence = ct.split(';').next().unwrap_or_default().trim();
    Some(essence.to_ascii_lowercase())
}

/// The JSON text of the body. A missing content type is read as JSON (some
/// senders omit it); `application/json` and `+json` types are JSON; the form
/// encoding is unwrapped only where `allow_form` (GitHub sends either).
pub(crate) fn json_text<'a>(
    headers: &Headers,
    body: &'a [u8],
    allow_form: bool,
) -> Result<Cow<'a, [u8]>, WebhookError> {
    match media_type(headers).as_deref() {
        None | Some("application/json") => Ok(Cow::Borrowed(body)),
        Some(t) if t.starts_with("application/") && t.ends_with("+json") => Ok(Cow::Borrowed(body)),
        Some("application/x-www-form-urlencoded") if allow_form => {
            form_payload(body).map(Cow::Owned)
        }
        Some(other) => Err(WebhookError::UnsupportedContentType(other.to_string())),
    }
}

/// The decoded `payload` field of an `application/x-www-form-urlencoded`
/// body (`+` is a space, `%XX` a byte).
fn form_payload(body: &[u8]) -> Result<Vec<u8>, WebhookError> {
    for pair in body.split(|b| *b == b'&') {
        let mut kv = pair.splitn(2, |b| *b == b'=');
        let key = kv.next().unwrap_or_default();
        let value = kv.next().unwrap_or_default();
        if form_decode(key) == b"payload" {
            return Ok(form_decode(value));
        }
    }
    Err(WebhookError::malformed("form body has no `payload` field"))
}

fn form_decode(s: &[u8]) -> Vec<u8> {
    let spaced: Vec<u8> = s
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    percent_encoding::percent_decode(&spaced).collect()
}

/// Decodes JSON text into `T`, refusing non-UTF-8 and trailing garbage, with
/// a short reason naming the path of the offending field.
///
/// Valid bodies take the plain decoder: tracking the path of every field
/// (serde_path_to_error) made a 25 MB push several times slower to decode.
/// Only a body that fails is decoded again, to say where it failed.
pub(crate) fn decode<T: DeserializeOwned>(json: &[u8]) -> Result<T, WebhookError> {
    let text = std::str::from_utf8(json)
        .map_err(|e| WebhookError::malformed(format!("body is not UTF-8 ({e})")))?;
    if let Ok(value) = serde_json::from_str(text) {
        return Ok(value);
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            WebhookError::malformed(e.inner().to_string())
        } else {
            WebhookError::malformed(format!("{path}: {}", e.inner()))
        }
    })?;
    de.end()
        .map_err(|e| WebhookError::malformed(format!("trailing data after JSON: {e}")))?;
    Ok(value)
}

/// Verified JSON of the content type the headers announce, decoded into `T`.
pub(crate) fn parse_json<T: DeserializeOwned>(
    headers: &Headers,
    body: &[u8],
    allow_form: bool,
) -> Result<T, WebhookError> {
    let text = json_text(headers, body, allow_form)?;
    decode(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(ct: &str) -> Headers {
        Headers::new([("Content-Type".to_string(), ct.to_string())])
    }

    #[test]
    fn content_types() {
        assert!(json_text(&h("application/json; charset=utf-8"), b"{}", false).is_ok());
        assert!(json_text(&h("application/vnd.x+json"), b"{}", false).is_ok());
        assert!(json_text(&Headers::new([]), b"{}", false).is_ok());
        assert_eq!(
            json_text(&h("text/plain"), b"{}", false),
            Err(WebhookError::UnsupportedContentType("text/plain".into()))
        );
        assert!(matches!(
            json_text(
                &h("application/x-www-form-urlencoded"),
                b"payload=%7B%7D",
                false
            ),
            Err(WebhookError::UnsupportedContentType(_))
        ));
    }

    #[test]
    fn form_payload_is_unwrapped() {
        let got = json_text(
            &h("application/x-www-form-urlencoded"),
            b"x=1&payload=%7B%22a%22%3A+%22b+c%22%7D",
            true,
        )
        .unwrap();
        assert_eq!(&*got, br#"{"a": "b c"}"#);
        assert!(matches!(
            json_text(&h("application/x-www-form-urlencoded"), b"x=1", true),
            Err(WebhookError::Malformed(_))
        ));
    }

    #[test]
    fn decode_errors_name_the_path() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct T {
            a: Vec<String>,
        }
        let err = decode::<T>(br#"{"a": ["x", 5]}"#).unwrap_err();
        assert!(err.to_string().contains("a[1]"), "{err}");
        assert!(matches!(
            decode::<T>(b"\xff"),
            Err(WebhookError::Malformed(_))
        ));
        assert!(matches!(
            decode::<T>(br#"{"a": []} x"#),
            Err(WebhookError::Malformed(_))
        ));
    }
}
