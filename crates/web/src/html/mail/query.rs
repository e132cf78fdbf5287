//! Query strings of the mail pages: read leniently, written back for links (paging, the detail
//! page's way back) so that the chosen filter survives a click.

/// The parameters of a request as pairs, read by name. Extracted as pairs rather than into a
/// struct so that a repeated or unknown parameter is no reason to refuse the page.
#[derive(Debug, Clone, Default)]
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    pub(crate) fn new(pairs: Vec<(String, String)>) -> Self {
        Self(pairs)
    }

    /// The last value of `name` (a link's own value overrides one carried along), or "".
    pub(crate) fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// `path?k=v&…` for the non-empty values, form-encoded.
pub(crate) fn href(path: &str, pairs: &[(&str, &str)]) -> String {
    let query: Vec<String> = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

/// application/x-www-form-urlencoded, as a browser would send the form.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{Params, href};

    #[test]
    fn hrefs_skip_empty_values_and_encode_the_rest() {
        assert_eq!(href("/mail/log", &[]), "/mail/log");
        assert_eq!(
            href(
                "/mail/log",
                &[("recipient", "a+b@例.jp"), ("kind", ""), ("page", "2")]
            ),
            "/mail/log?recipient=a%2Bb%40%E4%BE%8B.jp&page=2"
        );
        assert_eq!(href("/x", &[("q", "a b&c")]), "/x?q=a+b%26c");
    }

    #[test]
    fn the_last_value_of_a_parameter_wins() {
        let p = Params::new(vec![
            ("page".into(), "1".into()),
            ("page".into(), "3".into()),
        ]);
        assert_eq!(p.get("page"), "3");
        assert_eq!(p.get("none"), "");
    }
}
