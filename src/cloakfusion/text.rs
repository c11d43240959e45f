//! Turning bodies we cannot parse (proxy HTML pages, plain text) into short,
//! readable snippets for errors and logs, and finding URLs in server messages.

/// Longest snippet kept from a body, in characters.
const SNIPPET_CHARS: usize = 200;

/// True when a body is (probably) HTML: a proxy error page or `format=api`.
pub(crate) fn looks_html(body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&body[..body.len().min(512)]);
    let t = text.trim_start().to_ascii_lowercase();
    t.starts_with('<') && (t.starts_with("<!doctype") || t.starts_with("<html") || t.contains('>'))
}

/// A short, single-line rendering of a body: tags, scripts and styles
/// removed, entities decoded, whitespace collapsed.
pub(crate) fn snippet(body: &[u8]) -> String {
    let raw = String::from_utf8_lossy(body);
    let text = if looks_html(body) {
        strip_html(&raw)
    } else {
        raw.into_owned()
    };
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() <= SNIPPET_CHARS {
        return collapsed;
    }
    let cut: String = collapsed.chars().take(SNIPPET_CHARS).collect();
    format!("{cut}…")
}

fn strip_html(html: &str) -> String {
    let mut out = String::with_capacity(html.len().min(4096));
    let lower = html.to_ascii_lowercase();
    let mut i = 0;
    while i < html.len() {
        let rest = &lower[i..];
        if let Some(skip) = ["script", "style"]
            .iter()
            .find_map(|tag| skip_block(rest, tag))
        {
            i += skip;
            continue;
        }
        if rest.starts_with('<') {
            match rest.find('>') {
                Some(end) => {
                    out.push(' ');
                    i += end + 1;
                }
                None => break,
            }
            continue;
        }
        let next = rest.find('<').map_or(html.len(), |n| i + n);
        out.push_str(&decode_entities(&html[i..next]));
        i = next;
    }
    out
}

/// Length of a `<script ...>...</script>` block at the start of `rest`.
fn skip_block(rest: &str, tag: &str) -> Option<usize> {
    let open = format!("<{tag}");
    if !rest.starts_with(&open) {
        return None;
    }
    let after = rest.as_bytes().get(open.len()).copied();
    if !matches!(after, Some(b'>' | b' ' | b'\t' | b'\n' | b'\r' | b'/')) {
        return None;
    }
    let close = format!("</{tag}>");
    Some(rest.find(&close).map_or(rest.len(), |n| n + close.len()))
}

fn decode_entities(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
}

/// Absolute http(s) URLs inside a message, without trailing punctuation.
pub(crate) fn extract_urls(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(pos) = find_scheme(rest) {
        let tail = &rest[pos..];
        let end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '`'))
            .unwrap_or(tail.len());
        let url = tail[..end].trim_end_matches(['.', ',', ';', ':', ')', ']', '}']);
        if url.len() > "https://".len() {
            out.push(url.to_string());
        }
        rest = &tail[end.max(1)..];
    }
    out
}

fn find_scheme(s: &str) -> Option<usize> {
    let lower = s.to_ascii_lowercase();
    match (lower.find("http://"), lower.find("https://")) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_page_becomes_text() {
        let body = b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title>\
            <style>body{color:red}</style><script>var x = '<b>';</script></head>\
            <body><h1>Bad   Gateway</h1><p>nginx &amp; friends</p></body></html>";
        assert!(looks_html(body));
        assert_eq!(snippet(body), "502 Bad Gateway Bad Gateway nginx & friends");
    }

    #[test]
    fn plain_text_is_kept_and_cut() {
        assert!(!looks_html(b"Bad request\n"));
        assert_eq!(snippet(b"Bad\n  request"), "Bad request");
        let long = "x".repeat(500);
        let s = snippet(long.as_bytes());
        assert_eq!(s.chars().count(), SNIPPET_CHARS + 1);
        assert!(s.ends_with('…'));
    }

    #[test]
    fn invalid_utf8_does_not_panic() {
        let s = snippet(&[0xff, 0xfe, b'<', b'p', b'>', b'h', b'i']);
        assert!(s.contains("hi"));
    }

    #[test]
    fn urls_found_in_messages() {
        assert_eq!(
            extract_urls("Invalid URL: https://www.example.com/a.css."),
            vec!["https://www.example.com/a.css"]
        );
        assert_eq!(
            extract_urls("'http://a/x', \"HTTPS://b/y?q=1\"; none"),
            vec!["http://a/x", "HTTPS://b/y?q=1"]
        );
        assert!(extract_urls("Unknown vhost: www.example.org").is_empty());
        assert!(extract_urls("http://").is_empty());
    }
}
