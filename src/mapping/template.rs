//! URL templates from `[[site.rule]]` (and the fixed URLs of `also_purge` and
//! `full_purge`), parsed once at load so a typo in a placeholder is a config
//! error rather than a wrong purge at 3 a.m. Literal text is used as written;
//! only captured file-name parts are percent-encoded.

use super::encode::{self, Mode};
use super::relpath::RelPath;

/// The parts of a file path a template may insert, already encoded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Captures {
    pub(crate) path: String,
    pub(crate) dir: String,
    pub(crate) name: String,
    pub(crate) stem: String,
    pub(crate) ext: String,
}

impl Captures {
    pub(crate) fn of(rel: &RelPath) -> Captures {
        let name = rel.name();
        // Like `Path::file_stem`: a leading dot starts a name, not an extension.
        let (stem, ext): (&[u8], &[u8]) = match name.iter().rposition(|b| *b == b'.') {
            Some(i) if i > 0 => (&name[..i], &name[i + 1..]),
            _ => (name, b""),
        };
        Captures {
            path: encode::segments(rel.segs().iter().map(Vec::as_slice)),
            dir: encode::segments(rel.dir().iter().map(Vec::as_slice)),
            name: encode::segment(name),
            stem: encode::segment(stem),
            ext: encode::segment(ext),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Capture {
    Path,
    Dir,
    Stem,
    Ext,
    Name,
}

impl Capture {
    fn from_name(name: &str) -> Option<Capture> {
        Some(match name {
            "path" => Capture::Path,
            "dir" => Capture::Dir,
            "stem" => Capture::Stem,
            "ext" => Capture::Ext,
            "name" => Capture::Name,
            _ => return None,
        })
    }

    fn value<'a>(&self, caps: &'a Captures) -> &'a str {
        match self {
            Capture::Path => &caps.path,
            Capture::Dir => &caps.dir,
            Capture::Stem => &caps.stem,
            Capture::Ext => &caps.ext,
            Capture::Name => &caps.name,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Lit(String),
    Cap(Capture),
}

/// A URL: either site-relative (joined to every base URL) or absolute with a
/// fixed origin, followed by a path template that starts with `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UrlSpec {
    /// `scheme://host[:port]` for absolute templates.
    pub(crate) origin: Option<String>,
    pieces: Vec<Piece>,
}

impl UrlSpec {
    /// `allow_captures` is false for `also_purge`/`full_purge`, which are not
    /// tied to one file.
    pub(crate) fn parse(src: &str, allow_captures: bool) -> Result<UrlSpec, String> {
        let (origin, path) = split_origin(src)?;
        let pieces = parse_pieces(path, allow_captures)?;
        match pieces.first() {
            Some(Piece::Lit(l)) if l.starts_with('/') => {}
            _ => {
                return Err("must start with `/` (site-relative) or http(s):// (absolute)".into());
            }
        }
        check_shape(&pieces)?;
        Ok(UrlSpec { origin, pieces })
    }

    /// The encoded URL path. An empty capture between two slashes
    /// (`/{dir}/x` for a top-level file) leaves a single slash, not `//`.
    pub(crate) fn render(&self, caps: &Captures) -> String {
        let mut out = String::new();
        let mut skip_slash = false;
        for piece in &self.pieces {
            match piece {
                Piece::Lit(l) => {
                    let l = match l.strip_prefix('/') {
                        Some(rest) if skip_slash => rest,
                        _ => l.as_str(),
                    };
                    out.push_str(l);
                    skip_slash = false;
                }
                Piece::Cap(c) => {
                    let v = c.value(caps);
                    skip_slash = v.is_empty() && out.ends_with('/');
                    out.push_str(v);
                }
            }
        }
        out
    }
}

/// Splits `https://host:port/path` into a normalised origin and the path.
fn split_origin(src: &str) -> Result<(Option<String>, &str), String> {
    let lower = src.get(..8).unwrap_or(src).to_ascii_lowercase();
    let scheme_len = if lower.starts_with("https://") {
        8
    } else if lower.starts_with("http://") {
        7
    } else {
        return Ok((None, src));
    };
    let rest = &src[scheme_len..];
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.contains(['{', '}']) {
        return Err("placeholders are not allowed in the scheme or host".into());
    }
    if authority.contains('@') {
        return Err("credentials in URLs are not allowed".into());
    }
    if authority.contains(['?', '#']) {
        return Err("query strings and fragments are not supported".into());
    }
    let url = reqwest::Url::parse(&format!("{}{authority}/", &src[..scheme_len]))
        .map_err(|e| format!("invalid URL: {e}"))?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err("URL has no host".into());
    }
    let origin = url.as_str().strip_suffix('/').unwrap_or(url.as_str());
    Ok((Some(origin.to_string()), path))
}

fn parse_pieces(src: &str, allow_captures: bool) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut rest = src;
    while !rest.is_empty() {
        let brace = rest.find(['{', '}']).unwrap_or(rest.len());
        let (lit, tail) = rest.split_at(brace);
        if !lit.is_empty() {
            pieces.push(Piece::Lit(encode::url_path_text(lit, Mode::Strict)?));
        }
        if tail.is_empty() {
            break;
        }
        if tail.starts_with('}') {
            return Err("unmatched `}`".into());
        }
        let Some(end) = tail.find('}') else {
            return Err("unclosed `{`".into());
        };
        let name = &tail[1..end];
        let Some(cap) = Capture::from_name(name) else {
            return Err(format!(
                "unknown placeholder `{{{name}}}` (known: {{path}}, {{dir}}, {{stem}}, {{ext}}, {{name}})"
            ));
        };
        if !allow_captures {
            return Err(format!(
                "placeholder `{{{name}}}` is only allowed in rule urls"
            ));
        }
        pieces.push(Piece::Cap(cap));
        rest = &tail[end + 1..];
    }
    Ok(pieces)
}

/// Refuses `//`, `.` and `..` in the literal parts of the path; segments that
/// hold a capture are checked by construction (captures are encoded names).
fn check_shape(pieces: &[Piece]) -> Result<(), String> {
    // A capture becomes a neutral stand-in so only literal segments are judged.
    let shape: String = pieces
        .iter()
        .map(|p| match p {
            Piece::Lit(l) => l.as_str(),
            Piece::Cap(_) => "x",
        })
        .collect();
    encode::check_path_shape(&shape)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(p: &str) -> Captures {
        Captures::of(&RelPath::parse_str(p).unwrap())
    }

    fn render(t: &str, p: &str) -> String {
        UrlSpec::parse(t, true).unwrap().render(&caps(p))
    }

    #[test]
    fn captures_of_a_nested_file() {
        let c = caps("content/posts/my post.tar.gz");
        assert_eq!(c.path, "content/posts/my%20post.tar.gz");
        assert_eq!(c.dir, "content/posts");
        assert_eq!(c.name, "my%20post.tar.gz");
        assert_eq!(c.stem, "my%20post.tar");
        assert_eq!(c.ext, "gz");
    }

    #[test]
    fn captures_of_dotfiles_and_top_level() {
        let c = caps(".htaccess");
        assert_eq!(
            (c.dir.as_str(), c.stem.as_str(), c.ext.as_str()),
            ("", ".htaccess", "")
        );
        let c = caps("README");
        assert_eq!((c.stem.as_str(), c.ext.as_str()), ("README", ""));
    }

    #[test]
    fn renders_stem_for_posts() {
        assert_eq!(
            render("/blog/{stem}/", "content/posts/hello.md"),
            "/blog/hello/"
        );
    }

    #[test]
    fn renders_path_dir_ext_name() {
        assert_eq!(render("/x/{path}", "a/b c.md"), "/x/a/b%20c.md");
        assert_eq!(render("/{dir}/{stem}.{ext}", "a/b.md"), "/a/b.md");
        assert_eq!(render("/n/{name}", "a/ü.md"), "/n/%C3%BC.md");
    }

    #[test]
    fn empty_dir_does_not_double_the_slash() {
        assert_eq!(render("/{dir}/{name}", "top.html"), "/top.html");
        assert_eq!(render("/feeds/{dir}", "top.html"), "/feeds/");
    }

    #[test]
    fn literal_text_is_not_encoded_again() {
        assert_eq!(render("/my%20dir/{stem}", "a.md"), "/my%20dir/a");
    }

    #[test]
    fn absolute_templates_keep_a_fixed_origin() {
        let t = UrlSpec::parse("HTTPS://Static.Example.com:443/img/{name}", true).unwrap();
        assert_eq!(t.origin.as_deref(), Some("https://static.example.com"));
        assert_eq!(t.render(&caps("a/b.png")), "/img/b.png");
        let t = UrlSpec::parse("http://cdn.example.com:8080", false).unwrap();
        assert_eq!(t.origin.as_deref(), Some("http://cdn.example.com:8080"));
        assert_eq!(t.render(&Captures::default()), "/");
    }

    #[test]
    fn parse_errors_are_explained() {
        let err = |t: &str| UrlSpec::parse(t, true).unwrap_err();
        assert!(err("/blog/{slug}/").contains("`{slug}`"));
        assert!(err("/blog/{stem").contains("unclosed"));
        assert!(err("/blog/}").contains("unmatched"));
        assert!(err("blog/{stem}").contains("must start with"));
        assert!(err("{path}").contains("must start with"));
        assert!(err("/a b/{stem}").contains("percent-encoded"));
        assert!(err("/a?x={stem}").contains("query"));
        assert!(err("/a//{stem}").contains("//"));
        assert!(err("/../{stem}").contains(".."));
        assert!(err("https://{stem}.example.com/").contains("host"));
        assert!(err("https://user:pw@example.com/").contains("credentials"));
        assert!(!err("https://user:pw@example.com/").contains("pw"));
        assert!(err("https:///x").contains("host"));
        assert!(err("ftp://example.com/x").contains("must start with"));
    }

    #[test]
    fn fixed_urls_refuse_placeholders() {
        assert!(
            UrlSpec::parse("/feed/{stem}", false)
                .unwrap_err()
                .contains("only allowed in rule urls")
        );
        assert!(UrlSpec::parse("/sitemap.xml", false).is_ok());
    }
}
