//! The operator's status page on `GET /`: one self-contained HTML document
//! (inline CSS, inline JS, inline SVG charts; nothing fetched from elsewhere,
//! so it works offline and behind air gaps) that polls `/api/status` and
//! `/api/traffic`. The page itself carries no data, so it is served without
//! the admin token; its data calls send the token the operator gives it in
//! the URL fragment, which never reaches the server or its logs.
//!
//! The Content-Security-Policy allows exactly the embedded scripts and style
//! (by hash) and same-origin fetches: even if escaping failed somewhere,
//! injected markup could not run script or load anything.

use actix_web::HttpResponse;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

const TEMPLATE: &str = include_str!("page/index.html");
const STYLE: &str = include_str!("page/style.css");
const CHARTS: &str = include_str!("page/charts.js");
const STATUS: &str = include_str!("page/status.js");

struct Page {
    html: String,
    csp: String,
}

static PAGE: LazyLock<Page> = LazyLock::new(build);

fn hash(s: &str) -> String {
    format!("'sha256-{}'", B64.encode(Sha256::digest(s.as_bytes())))
}

fn build() -> Page {
    let html = TEMPLATE
        .replace("/*STYLE*/", STYLE)
        .replace("/*CHARTS*/", CHARTS)
        .replace("/*STATUS*/", STATUS);
    let csp = format!(
        "default-src 'none'; script-src {} {}; style-src {}; connect-src 'self'; \
         img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        hash(CHARTS),
        hash(STATUS),
        hash(STYLE),
    );
    Page { html, csp }
}

pub async fn index() -> HttpResponse {
    let page = &*PAGE;
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Content-Security-Policy", page.csp.as_str()))
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("X-Frame-Options", "DENY"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .body(page.html.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_placeholder_is_filled_and_nothing_closes_a_tag_early() {
        let p = build();
        assert!(!p.html.contains("/*STYLE*/"));
        assert!(!p.html.contains("/*CHARTS*/"));
        assert!(!p.html.contains("/*STATUS*/"));
        for asset in [STYLE, CHARTS, STATUS] {
            let lower = asset.to_ascii_lowercase();
            assert!(!lower.contains("</script"), "an asset would end its tag");
            assert!(!lower.contains("</style"), "an asset would end its tag");
        }
    }

    #[test]
    fn the_policy_names_the_hash_of_each_inline_block() {
        let p = build();
        for (open, asset) in [
            ("<style>", STYLE),
            ("<script>", CHARTS),
            ("<script>", STATUS),
        ] {
            let block = format!("{open}{asset}<");
            assert!(p.html.contains(&block), "asset not inlined verbatim");
            assert!(p.csp.contains(&hash(asset)));
        }
        assert!(!p.csp.contains("unsafe-inline"));
    }

    #[test]
    fn nothing_is_loaded_from_elsewhere() {
        let p = build();
        for needle in ["src=\"http", "href=\"http", "@import", "url(", "//cdn"] {
            assert!(!p.html.contains(needle), "external reference: {needle}");
        }
    }
}
