//! URL templates: the path of a request with its ids replaced (`/v1/charges/{id}/capture`), what a
//! span or a metric may carry without one series per charge.

/// The path templates a provider's requests follow, matched against each request's path.
///
/// A template is a path whose variable segments are written in braces (`/v1/charges/{id}`); each
/// matches exactly one segment. A path the list does not cover gets a template from its shape
/// ([`shape_template`]), so a missing entry costs precision, never cardinality or an id.
#[derive(Debug, Clone, Copy, Default)]
pub struct UrlTemplates {
    templates: &'static [&'static str],
}

impl UrlTemplates {
    /// The templates of a provider's requests.
    pub const fn new(templates: &'static [&'static str]) -> UrlTemplates {
        UrlTemplates { templates }
    }

    /// The template of `path`. The base URL's own path (`/proxy/payjp`) may come before a
    /// template, read by its shape. Among templates that match, the one with
    /// the most literal segments wins (`/v1/charges/{id}` over `/v1/{kind}/{id}`).
    pub fn template_of(&self, path: &str) -> String {
        let segments: Vec<&str> = split(path).collect();
        let mut best: Option<(usize, usize, &str)> = None;
        for template in self.templates {
            let length = split(template).count();
            // The root names only itself: as a suffix it would match every path.
            if length > segments.len() || (length == 0 && !segments.is_empty()) {
                continue;
            }
            let prefix = segments.len() - length;
            if !split(template).zip(&segments[prefix..]).all(|(p, s)| is_variable(p) || p == *s) {
                continue;
            }
            let literal = split(template).filter(|p| !is_variable(p)).count();
            // More literal segments, then less prefix: the most precise reading of the path.
            if best.is_none_or(|(l, p, _)| (literal, std::cmp::Reverse(prefix)) > (l, std::cmp::Reverse(p))) {
                best = Some((literal, prefix, template));
            }
        }
        match best {
            // The base URL's path, read by its shape too: a path that only ends like a template
            // must not carry an id in front of it.
            Some((_, prefix, template)) if prefix > 0 => {
                format!("{}/{}", shape_template(&segments[..prefix].join("/")), template.trim_start_matches('/'))
            }
            Some((_, _, template)) => format!("/{}", template.trim_start_matches('/')),
            None => shape_template(path),
        }
    }
}

fn split(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

fn is_word(segment: &str) -> bool {
    let version = segment.len() <= 4 && segment.starts_with('v') && segment[1..].bytes().all(|b| b.is_ascii_digit());
    version || (segment.len() <= 24 && segment.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-' || b == b'_'))
}

fn is_variable(segment: &str) -> bool {
    segment.starts_with('{') && segment.ends_with('}')
}

/// A template from the path's shape alone: a segment that could be an id (a digit other than an
/// API version's `v1`, a character outside letters, `-` and `_`, or more than 24 characters)
/// becomes `{id}`.
pub fn shape_template(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for segment in split(path) {
        out.push('/');
        out.push_str(if is_word(segment) { segment } else { "{id}" });
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ROUTES: UrlTemplates =
        UrlTemplates::new(&["/v1/charges", "/v1/charges/{id}", "/v1/charges/{id}/capture", "/v1/{kind}/{id}"]);

    #[test]
    fn ids_become_their_template() {
        assert_eq!(ROUTES.template_of("/v1/charges"), "/v1/charges");
        assert_eq!(ROUTES.template_of("/v1/charges/ch_fa990a4c10672a93053a774730b0a"), "/v1/charges/{id}");
        assert_eq!(ROUTES.template_of("/v1/charges/abcdef/capture"), "/v1/charges/{id}/capture");
        assert_eq!(ROUTES.template_of("/v1/tokens/tok_1"), "/v1/{kind}/{id}");
        let root = UrlTemplates::new(&["/", "/v1/refunds"]);
        assert_eq!(root.template_of("/"), "/");
        assert_eq!(root.template_of("/ch_123/x"), "/{id}/x");
        assert_eq!(root.template_of("/ch_123/v1/refunds"), "/{id}/v1/refunds");
    }

    #[test]
    fn a_base_path_is_kept_and_an_unlisted_path_is_read_by_its_shape() {
        assert_eq!(ROUTES.template_of("/proxy/payjp/v1/charges/ch_1"), "/proxy/payjp/v1/charges/{id}");
        assert_eq!(ROUTES.template_of("/payments/settlements/eyJrIjoxLCJkIjoiZm9vIn0"), "/payments/settlements/{id}");
        assert_eq!(shape_template("/paymentQueries/payments"), "/paymentQueries/payments");
        assert_eq!(shape_template("/v1/charges/ch_1/v2x"), "/v1/charges/{id}/{id}");
        assert_eq!(shape_template(""), "/");
    }

    proptest! {
        /// Whatever the path, no segment with a digit or a symbol reaches the template unless a
        /// template names it: an id never becomes a label.
        #[test]
        fn no_id_survives(path in "(/[a-zA-Z0-9_.~%-]{0,40}){0,6}") {
            let routes = UrlTemplates::new(&["/", "/v1/charges/{id}", "/refunds"]);
            let template = routes.template_of(&path);
            for segment in split(&template) {
                prop_assert!(segment.starts_with('{') || is_word(segment), "{segment} in {template}");
            }
        }
    }
}
