//! The mapping read backwards, for edge verification: which site-relative
//! files a purged URL stands for. Only the default mapping (the file itself,
//! index files, pretty URLs) can be reversed; each candidate is mapped
//! forwards again and kept only if that really yields the URL, so a rule's
//! made-up URL or an excluded file never passes for a deleted file.

use super::{MapOutcome, SiteMap};

impl SiteMap {
    /// Site-relative paths whose purge produces `url` through the default
    /// mapping, best first. Empty when the URL is not this site's or came
    /// from a rule, `also_purge` or an operator.
    pub fn files_for_url(&self, url: &str) -> Vec<String> {
        let url = url.split(['?', '#']).next().unwrap_or(url);
        let Some(encoded) = self.bases.iter().find_map(|b| {
            let rest = url.strip_prefix(b.origin.as_str())?;
            let rest = rest.strip_prefix(b.prefix.as_str())?;
            (rest.is_empty() || rest.starts_with('/')).then_some(rest)
        }) else {
            return Vec::new();
        };
        let Ok(decoded) = percent_encoding::percent_decode_str(encoded).decode_utf8() else {
            return Vec::new();
        };
        let rel = decoded.trim_start_matches('/');
        let mut candidates: Vec<String> = Vec::new();
        let index_names = self
            .index_files
            .iter()
            .filter_map(|i| std::str::from_utf8(i).ok());
        if rel.is_empty() || rel.ends_with('/') {
            candidates.extend(index_names.map(|i| format!("{rel}{i}")));
        } else {
            candidates.push(rel.to_string());
            if self.pretty_urls {
                candidates.push(format!("{rel}.html"));
            }
            candidates.extend(index_names.map(|i| format!("{rel}/{i}")));
        }
        candidates.retain(|c| {
            matches!(self.map_relative(c), Ok(MapOutcome::Urls(urls)) if urls.iter().any(|u| u.url == url))
        });
        candidates
    }
}

#[cfg(test)]
mod tests {
    use crate::config::raw::{RawRule, RawSite};
    use crate::mapping::SiteMap;

    fn map(pretty: bool) -> SiteMap {
        SiteMap::compile(
            &RawSite {
                name: "www".into(),
                vhost: "www.example.com".into(),
                base_urls: vec![
                    "https://www.example.com".into(),
                    "https://a.test/docs".into(),
                ],
                pretty_urls: pretty,
                exclude: vec!["private/**".into()],
                rule: vec![RawRule {
                    glob: "content/posts/*.md".into(),
                    urls: vec!["/blog/{stem}/".into()],
                    keep_default: Some(false),
                }],
                ..RawSite::default()
            },
            0,
        )
        .unwrap()
    }

    #[test]
    fn default_urls_reverse_to_their_files() {
        let m = map(true);
        let f = |u: &str| m.files_for_url(u);
        // The file itself first, then what a server would also try.
        let first = |u: &str| f(u).first().cloned().unwrap_or_default();
        assert_eq!(f("https://www.example.com/"), ["index.html"]);
        assert_eq!(f("https://www.example.com/blog/"), ["blog/index.html"]);
        assert_eq!(
            f("https://www.example.com/blog"),
            ["blog", "blog.html", "blog/index.html"]
        );
        assert_eq!(
            f("https://www.example.com/about"),
            ["about", "about.html", "about/index.html"]
        );
        assert_eq!(first("https://www.example.com/a%20b.css"), "a b.css");
        assert_eq!(first("https://a.test/docs/x.css"), "x.css");
        assert_eq!(first("https://www.example.com/x.css?v=2"), "x.css");
    }

    #[test]
    fn others_do_not_reverse() {
        let m = map(false);
        let f = |u: &str| m.files_for_url(u);
        assert_eq!(
            f("https://www.example.com/about"),
            ["about", "about/index.html"]
        );
        assert_eq!(
            f("https://www.example.com/about.html"),
            ["about.html", "about.html/index.html"]
        );
        assert!(f("https://other.test/x.css").is_empty());
        assert!(
            f("https://a.test/x.css").is_empty(),
            "outside the base prefix"
        );
        assert!(
            f("https://www.example.com/private/key.txt").is_empty(),
            "excluded"
        );
        // keep_default = false: the file's own URL is not its purge.
        assert_eq!(
            f("https://www.example.com/content/posts/hello.md"),
            ["content/posts/hello.md/index.html"]
        );
        assert!(f("https://www.example.com/%FF").is_empty());
    }
}
