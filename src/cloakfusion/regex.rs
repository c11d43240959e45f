//! `POST /flushstatus/` selects objects by a regular expression over URL
//! paths. This builds exact, anchored expressions for a set of paths, split
//! so that no request carries an expression longer than the caller allows.

/// Text around the alternation: `^/(` ... `)$`.
const OPEN: &str = "^/(";
const CLOSE: &str = ")$";

/// Builds `^/(a|b\.css)$`-style expressions matching exactly `paths` (each
/// with or without its leading `/`), every one at most `max_len` bytes; a
/// path too long for that limit on its own gets an expression of its own.
/// Duplicates are dropped; the input order is kept.
pub fn path_regex(paths: &[String], max_len: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut current: Vec<String> = Vec::new();
    let mut current_len = OPEN.len() + CLOSE.len();
    for path in paths {
        let bare = path.strip_prefix('/').unwrap_or(path);
        if !seen.insert(bare) {
            continue;
        }
        let alt = regex::escape(bare);
        let extra = alt.len() + usize::from(!current.is_empty());
        if !current.is_empty() && current_len + extra > max_len {
            out.push(finish(&current));
            current.clear();
            current_len = OPEN.len() + CLOSE.len();
        }
        current_len += alt.len() + usize::from(!current.is_empty());
        current.push(alt);
    }
    if !current.is_empty() {
        out.push(finish(&current));
    }
    out
}

fn finish(alts: &[String]) -> String {
    format!("{OPEN}{}{CLOSE}", alts.join("|"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    /// Each path is matched by exactly one expression; near misses by none.
    fn check(paths: &[String], exprs: &[String], max_len: usize) {
        let compiled: Vec<regex::Regex> = exprs
            .iter()
            .map(|e| regex::Regex::new(e).unwrap())
            .collect();
        for p in paths {
            let full = if p.starts_with('/') {
                p.clone()
            } else {
                format!("/{p}")
            };
            let hits = compiled.iter().filter(|r| r.is_match(&full)).count();
            assert_eq!(hits, 1, "{full} matched {hits} times by {exprs:?}");
            for miss in [
                format!("{full}x"),
                format!("/x{full}"),
                full.replace('.', "X"),
            ] {
                if paths
                    .iter()
                    .any(|q| q.trim_start_matches('/') == miss.trim_start_matches('/'))
                {
                    continue;
                }
                if miss == full {
                    continue;
                }
                assert!(
                    compiled.iter().all(|r| !r.is_match(&miss)),
                    "{miss} wrongly matched by {exprs:?}"
                );
            }
        }
        for (e, r) in exprs.iter().zip(&compiled) {
            let single_alt = !e.contains('|');
            assert!(
                e.len() <= max_len || single_alt,
                "{e} longer than {max_len}"
            );
            let alts = r.captures_len();
            assert_eq!(alts, 2, "one group only in {e}");
        }
    }

    #[test]
    fn one_expression_when_it_fits() {
        let paths = s(&["/a.css", "/blog/index.html", "img/x+y (1).png"]);
        let exprs = path_regex(&paths, 1000);
        assert_eq!(
            exprs,
            vec![r"^/(a\.css|blog/index\.html|img/x\+y \(1\)\.png)$".to_string()]
        );
        check(&paths, &exprs, 1000);
    }

    #[test]
    fn split_at_the_limit() {
        let paths: Vec<String> = (0..50).map(|i| format!("/dir/file-{i}.js")).collect();
        for max_len in [20, 40, 64, 100, 333] {
            let exprs = path_regex(&paths, max_len);
            assert!(exprs.len() > 1, "{max_len}");
            check(&paths, &exprs, max_len);
        }
    }

    #[test]
    fn long_path_gets_its_own_expression() {
        let long = format!("/{}.html", "a".repeat(100));
        let paths = vec!["/x".to_string(), long.clone(), "/y".to_string()];
        let exprs = path_regex(&paths, 30);
        assert_eq!(exprs.len(), 3);
        assert_eq!(exprs[0], "^/(x)$");
        assert!(exprs[1].len() > 30);
        assert_eq!(exprs[2], "^/(y)$");
        check(&paths, &exprs, 30);
    }

    #[test]
    fn specials_are_escaped_and_duplicates_dropped() {
        let paths = s(&[
            "/a|b", "/c$", "/^d", "/e[1]", "/f{2}", "/g*", "/h?q", "/i\\j", "/a|b", "a|b", "/",
        ]);
        let exprs = path_regex(&paths, 10_000);
        assert_eq!(exprs.len(), 1);
        assert_eq!(exprs[0].matches("a\\|b").count(), 1);
        check(&paths, &exprs, 10_000);
        let r = regex::Regex::new(&exprs[0]).unwrap();
        assert!(r.is_match("/"));
        assert!(!r.is_match("/a"));
        assert!(!r.is_match("/hq"));
    }

    #[test]
    fn empty_input() {
        assert!(path_regex(&[], 100).is_empty());
    }
}
