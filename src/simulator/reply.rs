//! An answer of the simulated API before it becomes HTTP: routes build a
//! `Reply`, and one place turns it into a response, so the body-shape faults
//! (HTML error pages, `?format=api`, dropped connections) apply uniformly.

use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::HttpResponse;
use actix_web::body::{BodySize, MessageBody};
use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use serde_json::{Value, json};

#[derive(Debug)]
pub(crate) enum Body {
    Json(Value),
    Html(String),
    Empty,
    /// The connection is dropped mid-answer.
    Broken,
}

#[derive(Debug)]
pub(crate) struct Reply {
    pub status: StatusCode,
    pub body: Body,
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub fn json(status: StatusCode, value: Value) -> Reply {
        Reply {
            status,
            body: Body::Json(value),
            headers: Vec::new(),
        }
    }

    pub fn detail(status: StatusCode, msg: impl Into<String>) -> Reply {
        Reply::json(status, json!({ "detail": msg.into() }))
    }

    /// DRF-style field error: 400 `{"field": ["message"]}`.
    pub fn field(field: &str, msg: impl Into<String>) -> Reply {
        Reply::json(StatusCode::BAD_REQUEST, json!({ field: [msg.into()] }))
    }

    pub fn empty(status: StatusCode) -> Reply {
        Reply {
            status,
            body: Body::Empty,
            headers: Vec::new(),
        }
    }

    /// What a reverse proxy in front of the API answers when the app is down.
    pub fn proxy_error(status: StatusCode) -> Reply {
        Reply {
            status,
            body: Body::Html(proxy_page(status)),
            headers: Vec::new(),
        }
    }

    pub fn broken() -> Reply {
        Reply {
            status: StatusCode::OK,
            body: Body::Broken,
            headers: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: &'static str, value: String) -> Reply {
        self.headers.push((name, value));
        self
    }

    /// `html_errors` turns every error body into an HTML page; `browsable`
    /// (`?format=api`) wraps every JSON body in an HTML page.
    pub fn into_response(self, html_errors: bool, browsable: bool) -> HttpResponse {
        let mut b = HttpResponse::build(self.status);
        for (name, value) in &self.headers {
            b.insert_header((*name, value.as_str()));
        }
        let is_error = self.status.as_u16() >= 400;
        match self.body {
            Body::Broken => b.body(BrokenBody),
            Body::Empty => b.finish(),
            Body::Html(page) => b.content_type("text/html; charset=utf-8").body(page),
            Body::Json(v) if is_error && html_errors => b
                .content_type("text/html; charset=utf-8")
                .body(error_page(self.status, &v)),
            Body::Json(v) if browsable => b
                .content_type("text/html; charset=utf-8")
                .body(browsable_page(self.status, &v)),
            Body::Json(v) => b.json(v),
        }
    }
}

fn reason(status: StatusCode) -> &'static str {
    status.canonical_reason().unwrap_or("Error")
}

pub(crate) fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub(crate) fn proxy_page(status: StatusCode) -> String {
    let line = format!("{} {}", status.as_u16(), reason(status));
    format!(
        "<html>\r\n<head><title>{line}</title></head>\r\n<body>\r\n<center><h1>{line}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )
}

fn error_page(status: StatusCode, v: &Value) -> String {
    let text = match v.get("detail").and_then(Value::as_str) {
        Some(d) => d.to_string(),
        None => v.to_string(),
    };
    format!(
        "<!DOCTYPE html>\n<html><head><title>{code} {r}</title></head><body><h1>{r}</h1><p>{t}</p></body></html>\n",
        code = status.as_u16(),
        r = reason(status),
        t = html_escape(&text)
    )
}

fn browsable_page(status: StatusCode, v: &Value) -> String {
    let pretty = serde_json::to_string_pretty(v).unwrap_or_default();
    format!(
        "<!DOCTYPE html>\n<html><head><title>Cloakfusion API</title></head><body>\n<h1>Cloakfusion API</h1>\n<pre><b>HTTP {} {}</b>\nContent-Type: application/json\n\n{}</pre>\n</body></html>\n",
        status.as_u16(),
        reason(status),
        html_escape(&pretty)
    )
}

/// A body that fails on first read: the server drops the connection, which
/// the client sees as a reset or a truncated answer.
struct BrokenBody;

impl MessageBody for BrokenBody {
    type Error = std::io::Error;

    fn size(&self) -> BodySize {
        BodySize::Sized(64)
    }

    fn poll_next(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "simulated connection reset",
        ))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_page_names_status() {
        let p = proxy_page(StatusCode::BAD_GATEWAY);
        assert!(p.contains("502 Bad Gateway"));
        assert!(p.starts_with("<html>"));
    }

    #[test]
    fn escape() {
        assert_eq!(html_escape("<a&\">"), "&lt;a&amp;&quot;&gt;");
    }
}
