//! RFC 3986 percent-encoding for URL paths. File names become path segments
//! (every byte outside the segment-safe set is encoded, so a `#`, `?` or `%`
//! in a file name can never change what the URL means), while URL paths written
//! by people are checked (config) or completed (operator input) without ever
//! encoding an existing `%XX` a second time.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_encode};

/// Bytes that must be encoded inside one path segment: everything but the
/// unreserved set, the sub-delims, `:` and `@` (RFC 3986 `pchar`). Non-ASCII
/// bytes are always encoded by `percent_encode`.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b':')
    .remove(b'@');

/// Encodes one path segment (a file or directory name, raw bytes).
pub(crate) fn segment(raw: &[u8]) -> String {
    percent_encode(raw, SEGMENT).to_string()
}

/// Encodes segments and joins them with `/` (no leading or trailing slash).
pub(crate) fn segments<'a>(raw: impl IntoIterator<Item = &'a [u8]>) -> String {
    let mut out = String::new();
    for (i, seg) in raw.into_iter().enumerate() {
        if i > 0 {
            out.push('/');
        }
        out.push_str(&segment(seg));
    }
    out
}

/// True for the ASCII characters that may appear unencoded in a URL path.
fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@/".contains(c)
}

/// How a URL path written by a person is treated when it holds a character
/// that is not legal in a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Config values: refuse, so a typo is reported at load.
    Strict,
    /// Operator input: encode it, as a browser would.
    Lenient,
}

/// Checks (Strict) or completes (Lenient) URL-path text. Valid `%XX` triplets
/// are kept as written; `?`, `#` and control characters are always refused
/// because the result must be a bare path.
pub(crate) fn url_path_text(s: &str, mode: Mode) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if is_path_char(c) {
            out.push(c);
        } else if c == '%' {
            let triplet = s
                .get(i + 1..i + 3)
                .filter(|h| h.len() == 2 && h.bytes().all(|b| b.is_ascii_hexdigit()));
            match (triplet, mode) {
                (Some(hex), _) => {
                    out.push('%');
                    out.push_str(hex);
                    chars.next();
                    chars.next();
                }
                (None, Mode::Lenient) => out.push_str("%25"),
                (None, Mode::Strict) => {
                    return Err("`%` is not followed by two hex digits (write %25)".into());
                }
            }
        } else if c == '?' || c == '#' {
            return Err("query strings and fragments are not supported".into());
        } else if c.is_control() {
            return Err("control characters are not allowed".into());
        } else if mode == Mode::Strict {
            return Err(format!("character {c:?} must be percent-encoded"));
        } else {
            let mut buf = [0u8; 4];
            out.push_str(&segment(c.encode_utf8(&mut buf).as_bytes()));
        }
    }
    Ok(out)
}

/// Refuses `.`/`..` segments and empty segments (`//`) in a URL path that
/// starts with `/`: a CDN would normalise them away and purge something else.
pub(crate) fn check_path_shape(path: &str) -> Result<(), String> {
    let Some(rest) = path.strip_prefix('/') else {
        return Err("must start with `/`".into());
    };
    if rest.is_empty() {
        return Ok(());
    }
    let segs: Vec<&str> = rest.split('/').collect();
    let last = segs.len() - 1;
    for (i, seg) in segs.iter().enumerate() {
        if seg.is_empty() && i != last {
            return Err("empty path segment (`//`)".into());
        }
        // `%2e` is a `.` to URL parsers (WHATWG: `.%2e` is a `..` segment);
        // no segment longer than `%2e%2e` can be one.
        let dots = seg.len() <= 6
            && matches!(
                seg.to_ascii_lowercase().replace("%2e", ".").as_str(),
                "." | ".."
            );
        if dots {
            return Err("`.` and `..` segments are not allowed".into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_encodes_space_unicode_and_reserved() {
        assert_eq!(segment(b"my file.html"), "my%20file.html");
        assert_eq!(segment("café.html".as_bytes()), "caf%C3%A9.html");
        assert_eq!(segment(b"a#b?c%d"), "a%23b%3Fc%25d");
        assert_eq!(segment(b"a/b"), "a%2Fb");
        assert_eq!(segment(b"q\"<>\\^`{|}"), "q%22%3C%3E%5C%5E%60%7B%7C%7D");
    }

    #[test]
    fn segment_keeps_unreserved_and_sub_delims() {
        let keep = "AZaz09-._~!$&'()*+,;=:@";
        assert_eq!(segment(keep.as_bytes()), keep);
    }

    #[test]
    fn segment_encodes_invalid_utf8_bytes() {
        assert_eq!(segment(b"a\xff\x00b"), "a%FF%00b");
    }

    #[test]
    fn segments_join_with_slash() {
        let parts: [&[u8]; 2] = [b"my dir", b"x y"];
        assert_eq!(segments(parts), "my%20dir/x%20y");
        assert_eq!(segments(std::iter::empty::<&[u8]>()), "");
    }

    #[test]
    fn strict_keeps_valid_triplets_and_refuses_the_rest() {
        assert_eq!(url_path_text("/a%20b/c", Mode::Strict).unwrap(), "/a%20b/c");
        assert!(url_path_text("/a b", Mode::Strict).is_err());
        assert!(url_path_text("/é", Mode::Strict).is_err());
        assert!(url_path_text("/50%", Mode::Strict).is_err());
        assert!(url_path_text("/%zz", Mode::Strict).is_err());
    }

    #[test]
    fn lenient_encodes_without_double_encoding() {
        assert_eq!(
            url_path_text("/my file/%20/é", Mode::Lenient).unwrap(),
            "/my%20file/%20/%C3%A9"
        );
        assert_eq!(url_path_text("/50%", Mode::Lenient).unwrap(), "/50%25");
        assert_eq!(url_path_text("/%4", Mode::Lenient).unwrap(), "/%254");
    }

    #[test]
    fn query_fragment_and_controls_refused_in_both_modes() {
        for mode in [Mode::Strict, Mode::Lenient] {
            assert!(url_path_text("/a?b=1", mode).is_err());
            assert!(url_path_text("/a#top", mode).is_err());
            assert!(url_path_text("/a\0b", mode).is_err());
            assert!(url_path_text("/a\nb", mode).is_err());
        }
    }

    #[test]
    fn path_shape() {
        assert!(check_path_shape("/").is_ok());
        assert!(check_path_shape("/blog/").is_ok());
        assert!(check_path_shape("/blog/a.html").is_ok());
        assert!(check_path_shape("blog").is_err());
        assert!(check_path_shape("").is_err());
        assert!(check_path_shape("//").is_err());
        assert!(check_path_shape("/a//b").is_err());
        assert!(check_path_shape("/a/../b").is_err());
        assert!(check_path_shape("/./b").is_err());
        assert!(check_path_shape("/a/..").is_err());
        // Found by the mapping properties: encoded dots are dot segments too.
        assert!(check_path_shape("/a/%2e%2E/b").is_err());
        assert!(check_path_shape("/.%2e").is_err());
        assert!(check_path_shape("/%2e").is_err());
        assert!(check_path_shape("/%2e%2e%2e/x").is_ok());
    }
}
