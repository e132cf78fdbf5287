//! Mail bodies on a page: every character escaped, and `http(s)://` links made clickable.
//!
//! The body is plain text written by templates that interpolate user input (facility names, a
//! prefecture's message), so it is treated as hostile. [`LinkedText`] can only be made by
//! [`linkify`], which escapes all of it; that is why the template may print it with `|safe`.

use std::fmt;

/// HTML that came out of [`linkify`]: safe to print unescaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LinkedText(String);

impl fmt::Display for LinkedText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Escapes `text` and wraps each `http://` or `https://` URL in a link to itself.
pub(crate) fn linkify(text: &str) -> LinkedText {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    let mut rest = text;
    while let Some(start) = url_start(rest) {
        let (before, from) = rest.split_at(start);
        escape_into(&mut out, before);
        let len = url_len(from);
        let (url, after) = from.split_at(len);
        if url.ends_with("://") {
            // A scheme with nothing after it is not a link.
            escape_into(&mut out, url);
        } else {
            out.push_str("<a href=\"");
            escape_into(&mut out, url);
            out.push_str("\">");
            escape_into(&mut out, url);
            out.push_str("</a>");
        }
        rest = after;
    }
    escape_into(&mut out, rest);
    LinkedText(out)
}

/// Byte offset of the first `http://` or `https://` that does not continue a word.
fn url_start(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(pos) = text.get(from..)?.find("http") {
        let at = from + pos;
        let after = &bytes[at + 4..];
        let scheme = after.starts_with(b"://") || after.starts_with(b"s://");
        let word_start = at == 0 || !bytes[at - 1].is_ascii_alphanumeric();
        if scheme && word_start {
            return Some(at);
        }
        from = at + 4;
    }
    None
}

/// Length in bytes of the URL at the start of `text`: printable ASCII up to a space, a quote or
/// an angle bracket (Japanese text right after a URL ends it), less trailing punctuation that
/// belongs to the sentence (「…/s/abc.」, 「(https://…)」).
fn url_len(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut len = bytes
        .iter()
        .position(|&b| !is_url_byte(b))
        .unwrap_or(bytes.len());
    while len > 0 {
        let last = bytes[len - 1];
        let strip = match last {
            b'.' | b',' | b';' | b':' | b'!' | b'?' => true,
            b')' => {
                let url = &bytes[..len];
                url.iter().filter(|&&b| b == b'(').count()
                    < url.iter().filter(|&&b| b == b')').count()
            }
            b']' => !bytes[..len].contains(&b'['),
            _ => false,
        };
        if !strip {
            break;
        }
        len -= 1;
    }
    len
}

fn is_url_byte(b: u8) -> bool {
    b.is_ascii_graphic()
        && !matches!(
            b,
            b'<' | b'>' | b'"' | b'\'' | b'`' | b'\\' | b'{' | b'}' | b'|' | b'^'
        )
}

/// The five characters that matter in element content and quoted attributes.
pub(crate) fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::linkify;

    fn html(text: &str) -> String {
        linkify(text).to_string()
    }

    #[test]
    fn everything_is_escaped() {
        assert_eq!(
            html("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
    }

    #[test]
    fn urls_become_links_and_stop_at_japanese_text_and_punctuation() {
        assert_eq!(
            html("こちら：https://teikyo.test/s/abc123。"),
            "こちら：<a href=\"https://teikyo.test/s/abc123\">https://teikyo.test/s/abc123</a>。"
        );
        assert_eq!(
            html("see http://a.test/x?y=1&z=2."),
            "see <a href=\"http://a.test/x?y=1&amp;z=2\">http://a.test/x?y=1&amp;z=2</a>."
        );
        assert_eq!(
            html("(https://a.test/b)"),
            "(<a href=\"https://a.test/b\">https://a.test/b</a>)"
        );
        assert_eq!(
            html("https://a.test/wiki/X_(y)"),
            "<a href=\"https://a.test/wiki/X_(y)\">https://a.test/wiki/X_(y)</a>"
        );
    }

    #[test]
    fn urls_cannot_break_out_of_the_attribute() {
        let out = html("https://a.test/\"onmouseover=\"x <b>");
        assert_eq!(
            out,
            "<a href=\"https://a.test/\">https://a.test/</a>&quot;onmouseover=&quot;x &lt;b&gt;"
        );
    }

    #[test]
    fn other_schemes_and_bare_schemes_are_not_links() {
        assert_eq!(html("javascript:alert(1)"), "javascript:alert(1)");
        assert_eq!(html("https:// nothing"), "https:// nothing");
        assert_eq!(html("xhttps://a.test"), "xhttps://a.test");
        assert_eq!(html("ftp://a.test"), "ftp://a.test");
    }

    #[test]
    fn text_around_several_links_is_kept() {
        let out = html("一 https://a.test 二\nhttp://b.test/ 三");
        assert_eq!(
            out,
            "一 <a href=\"https://a.test\">https://a.test</a> 二\n<a href=\"http://b.test/\">http://b.test/</a> 三"
        );
    }
}
