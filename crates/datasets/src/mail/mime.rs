//! The readable text of a MIME message: its `text/plain` parts (or, when it
//! has none, its `text/html` parts with the markup removed), with
//! quoted-printable and base64 undone. Attachments, signatures
//! (`application/pgp-signature`), images and the headers of every part are
//! dropped; an embedded `message/rfc822` contributes its body only.

use super::rfc822::Message;

/// Nesting deeper than this is ignored (real mail nests 2-3 levels).
const MAX_DEPTH: usize = 8;

/// A parsed `Content-Type` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentType {
    /// `type/subtype`, lower-cased.
    pub mime: String,
    /// Parameters with lower-cased names and unquoted values.
    pub params: Vec<(String, String)>,
}

impl ContentType {
    /// Parses a header value such as `multipart/signed; boundary="==_Exmh_1"`.
    pub fn parse(value: &str) -> Self {
        let mut pieces = value.split(';');
        let mime = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
        let params = pieces
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| {
                (
                    k.trim().to_ascii_lowercase(),
                    v.trim().trim_matches('"').to_string(),
                )
            })
            .collect();
        Self { mime, params }
    }

    /// The value of parameter `name` (lower-case).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The readable text of `msg` (empty when it has none).
pub fn readable_text(msg: &Message) -> String {
    let mut plain = Vec::new();
    let mut html = Vec::new();
    collect(msg, 0, &mut plain, &mut html);
    let chosen = if plain.iter().any(|p| !p.trim().is_empty()) {
        plain
    } else {
        html
    };
    chosen.join("\n\n")
}

fn collect(msg: &Message, depth: usize, plain: &mut Vec<String>, html: &mut Vec<String>) {
    if depth > MAX_DEPTH {
        return;
    }
    let ct = ContentType::parse(msg.header("Content-Type").unwrap_or("text/plain"));
    let attachment = msg
        .header("Content-Disposition")
        .is_some_and(|d| d.trim().to_ascii_lowercase().starts_with("attachment"));
    if attachment && depth > 0 {
        return;
    }
    let mime = if ct.mime.is_empty() {
        "text/plain"
    } else {
        ct.mime.as_str()
    };
    if mime.starts_with("multipart/") {
        match ct.param("boundary") {
            Some(boundary) => {
                for part in split_multipart(&msg.body, boundary) {
                    collect(&Message::parse(&part), depth + 1, plain, html);
                }
            }
            None => plain.push(msg.body.clone()),
        }
    } else if mime == "message/rfc822" {
        collect(&Message::parse(&msg.body), depth + 1, plain, html);
    } else if mime == "text/plain" || mime == "text" {
        plain.push(decode_body(msg, &ct));
    } else if mime == "text/html" {
        html.push(html_to_text(&decode_body(msg, &ct)));
    }
}

/// The parts of a multipart body (each starting with its own headers);
/// the preamble and epilogue are dropped.
pub fn split_multipart(body: &str, boundary: &str) -> Vec<String> {
    let delimiter = format!("--{boundary}");
    let close = format!("--{boundary}--");
    let mut parts = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in body.lines() {
        let trimmed = line.trim_end();
        if trimmed == close {
            if let Some(lines) = current.take() {
                parts.push(lines.join("\n"));
            }
            break;
        }
        if trimmed == delimiter {
            if let Some(lines) = current.take() {
                parts.push(lines.join("\n"));
            }
            current = Some(Vec::new());
            continue;
        }
        if let Some(lines) = current.as_mut() {
            lines.push(line);
        }
    }
    if let Some(lines) = current {
        parts.push(lines.join("\n"));
    }
    parts
}

fn decode_body(msg: &Message, ct: &ContentType) -> String {
    let encoding = msg
        .header("Content-Transfer-Encoding")
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let bytes = match encoding.as_str() {
        "quoted-printable" => decode_quoted_printable(&msg.body),
        "base64" => match decode_base64(&msg.body) {
            Some(b) => b,
            None => return String::new(),
        },
        _ => return msg.body.clone(),
    };
    bytes_to_text(bytes, ct.param("charset").unwrap_or("us-ascii"))
}

/// Undoes quoted-printable: `=XX` hex escapes and `=` soft line breaks.
pub fn decode_quoted_printable(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' {
            let rest = &bytes[i + 1..];
            // Soft line break: `=` then optional trailing blanks then a newline.
            let blanks = rest
                .iter()
                .take_while(|&&b| b == b' ' || b == b'\t')
                .count();
            match rest.get(blanks) {
                Some(b'\n') => {
                    i += 2 + blanks;
                    continue;
                }
                Some(b'\r') if rest.get(blanks + 1) == Some(&b'\n') => {
                    i += 3 + blanks;
                    continue;
                }
                _ => {}
            }
            if rest.len() >= 2 {
                if let (Some(h), Some(l)) = (hex_val(rest[0]), hex_val(rest[1])) {
                    out.push(h * 16 + l);
                    i += 3;
                    continue;
                }
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

fn hex_val(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Decodes standard base64, ignoring whitespace; `None` on other characters.
pub fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for b in text.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            b if b.is_ascii_whitespace() => continue,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Bytes to text: UTF-8 when valid, else Windows-1252 (a superset of
/// ISO-8859-1 and ASCII, the charsets of this corpus) for Latin charsets,
/// else lossy UTF-8.
fn bytes_to_text(bytes: Vec<u8>, charset: &str) -> String {
    match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => {
            let bytes = e.into_bytes();
            let cs = charset.to_ascii_lowercase();
            let latin = cs.contains("8859")
                || cs.contains("1252")
                || cs.contains("ascii")
                || cs.contains("latin");
            if latin {
                bytes.iter().map(|&b| windows_1252(b)).collect()
            } else {
                String::from_utf8_lossy(&bytes).into_owned()
            }
        }
    }
}

fn windows_1252(b: u8) -> char {
    const HIGH: [char; 32] = [
        '\u{20ac}', '\u{fffd}', '\u{201a}', '\u{0192}', '\u{201e}', '\u{2026}', '\u{2020}',
        '\u{2021}', '\u{02c6}', '\u{2030}', '\u{0160}', '\u{2039}', '\u{0152}', '\u{fffd}',
        '\u{017d}', '\u{fffd}', '\u{fffd}', '\u{2018}', '\u{2019}', '\u{201c}', '\u{201d}',
        '\u{2022}', '\u{2013}', '\u{2014}', '\u{02dc}', '\u{2122}', '\u{0161}', '\u{203a}',
        '\u{0153}', '\u{fffd}', '\u{017e}', '\u{0178}',
    ];
    match b {
        0x80..=0x9f => HIGH[(b - 0x80) as usize],
        _ => b as char,
    }
}

/// Markup to text: drops `<script>`/`<style>` blocks and tags, turns block
/// tags into line breaks and decodes the common entities.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let lower = html.to_ascii_lowercase();
    let mut i = 0;
    while i < html.len() {
        let rest = &html[i..];
        if rest.starts_with('<') {
            let lrest = &lower[i..];
            for block in ["script", "style"] {
                if lrest.starts_with(&format!("<{block}")) {
                    let end_tag = format!("</{block}");
                    if let Some(end) = lrest.find(&end_tag) {
                        i += end;
                    }
                }
            }
            let lrest = &lower[i..];
            let close = lrest.find('>').map_or(html.len(), |p| i + p + 1);
            let tag = lrest.trim_start_matches(['<', '/']);
            if [
                "br",
                "p",
                "div",
                "li",
                "tr",
                "h1",
                "h2",
                "h3",
                "h4",
                "blockquote",
            ]
            .iter()
            .any(|t| {
                tag.starts_with(t)
                    && tag[t.len()..].starts_with(|c: char| !c.is_ascii_alphanumeric())
            }) {
                out.push('\n');
            }
            i = close;
            continue;
        }
        if rest.starts_with('&') {
            if let Some(semi) = rest.as_bytes()[..rest.len().min(10)]
                .iter()
                .position(|&b| b == b';')
            {
                if let Some(c) = decode_entity(&rest[1..semi]) {
                    out.push(c);
                    i += semi + 1;
                    continue;
                }
            }
        }
        let c = rest.chars().next().unwrap_or(' ');
        out.push(c);
        i += c.len_utf8();
    }
    out
}

fn decode_entity(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        "nbsp" => Some(' '),
        _ => {
            let num = name.strip_prefix('#')?;
            let code = match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => num.parse().ok()?,
            };
            char::from_u32(code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_printable_and_base64() {
        assert_eq!(
            decode_quoted_printable("caf=C3=A9 soft=\nbreak =3D ok"),
            "café softbreak = ok".as_bytes()
        );
        assert_eq!(decode_base64("aGVsbG8g\nd29ybGQ=").unwrap(), b"hello world");
        assert_eq!(decode_base64("not base64!"), None);
    }

    #[test]
    fn latin1_quoted_printable_is_decoded_by_charset() {
        let msg = Message::parse(
            "Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\nP=E1draig =93hi=94",
        );
        assert_eq!(readable_text(&msg), "P\u{e1}draig \u{201c}hi\u{201d}");
    }

    #[test]
    fn signed_multipart_keeps_the_text_and_drops_the_signature() {
        let raw = "Content-Type: multipart/signed; boundary=\"==_Exmh_1\"; micalg=pgp-sha1\n\n\
                   --==_Exmh_1\nContent-Type: text/plain; charset=us-ascii\n\nThe text.\n\n\
                   --==_Exmh_1\nContent-Type: application/pgp-signature\n\n-----BEGIN PGP SIGNATURE-----\nabc\n-----END PGP SIGNATURE-----\n\n\
                   --==_Exmh_1--\n";
        let text = readable_text(&Message::parse(raw));
        assert_eq!(text.trim(), "The text.");
        assert!(!text.contains("Content-Type"));
    }

    #[test]
    fn alternative_prefers_plain_and_html_is_a_fallback() {
        let alt = "Content-Type: multipart/alternative; boundary=b\n\n--b\nContent-Type: text/plain\n\nplain words\n--b\nContent-Type: text/html\n\n<p>html words</p>\n--b--\n";
        assert_eq!(readable_text(&Message::parse(alt)).trim(), "plain words");
        let html = "Content-Type: text/html\n\n<html><style>p {x}</style><p>Hello&nbsp;&amp; welcome<br>back</p></html>";
        assert_eq!(
            readable_text(&Message::parse(html)).trim(),
            "Hello & welcome\nback"
        );
    }

    #[test]
    fn attachments_and_embedded_headers_are_dropped() {
        let raw = "Content-Type: multipart/mixed; boundary=m\n\n--m\n\nbody text\n--m\nContent-Type: text/plain\nContent-Disposition: attachment; filename=x.txt\n\nattached\n--m\nContent-Type: message/rfc822\n\nFrom: a@b.c\nSubject: inner\n\ninner body\n--m--\n";
        let text = readable_text(&Message::parse(raw));
        assert!(
            text.contains("body text") && text.contains("inner body"),
            "{text}"
        );
        assert!(
            !text.contains("attached") && !text.contains("Subject") && !text.contains("From:"),
            "{text}"
        );
    }
}
