//! Splitting a raw message into unfolded headers and a body.

/// A message (or a MIME part): its headers in order, and its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// (name, value) pairs; continuation lines are unfolded into the value.
    pub headers: Vec<(String, String)>,
    /// Everything after the first empty line, with `\n` line ends.
    pub body: String,
}

impl Message {
    /// Parses `raw`: the headers end at the first empty line (a text without
    /// one is all headers if its first line looks like a header, else all body).
    pub fn parse(raw: &str) -> Self {
        let raw = raw.replace("\r\n", "\n");
        let (head, body) = match raw.find("\n\n") {
            _ if raw.starts_with('\n') => ("", &raw[1..]),
            Some(pos) => (&raw[..pos], &raw[pos + 2..]),
            None if looks_like_header(raw.lines().next().unwrap_or("")) => (raw.as_str(), ""),
            None => ("", raw.as_str()),
        };
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in head.lines() {
            if line.starts_with([' ', '\t']) {
                if let Some((_, value)) = headers.last_mut() {
                    value.push(' ');
                    value.push_str(line.trim());
                }
                continue;
            }
            if let Some((name, value)) = line.split_once(':') {
                if is_header_name(name) {
                    headers.push((name.to_string(), value.trim().to_string()));
                }
            }
            // Anything else (the mbox `From ` envelope line) is dropped.
        }
        Message {
            headers,
            body: body.to_string(),
        }
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The list identifier of the `List-Id` header, lower-cased: the text
    /// inside `<...>`, or the whole value when there are no brackets.
    pub fn list_id(&self) -> Option<String> {
        let value = self.header("List-Id")?;
        let inner = match (value.rfind('<'), value.rfind('>')) {
            (Some(open), Some(close)) if open < close => &value[open + 1..close],
            _ => value,
        };
        let inner = inner.trim();
        (!inner.is_empty()).then(|| inner.to_ascii_lowercase())
    }
}

/// Whether `name` is a syntactically valid header field name (RFC 5322: printable ASCII, no colon or space).
pub fn is_header_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| (33..=126).contains(&b) && b != b':')
}

fn looks_like_header(line: &str) -> bool {
    line.split_once(':')
        .is_some_and(|(name, _)| is_header_name(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_unfolded_and_body_kept() {
        let raw = "From someone@example.com  Thu Aug 22 12:36:23 2002\r\nSubject: Re: hello\r\nList-Id: Discussion list\r\n\t<exmh-users.spamassassin.taint.org>\r\nX-Empty:\r\n\r\nBody line 1\r\n\r\nBody line 2\r\n";
        let m = Message::parse(raw);
        assert_eq!(m.header("subject"), Some("Re: hello"));
        assert_eq!(
            m.header("list-id"),
            Some("Discussion list <exmh-users.spamassassin.taint.org>")
        );
        assert_eq!(
            m.list_id().as_deref(),
            Some("exmh-users.spamassassin.taint.org")
        );
        assert_eq!(m.header("X-Empty"), Some(""));
        assert_eq!(m.body, "Body line 1\n\nBody line 2\n");
        assert_eq!(m.headers.len(), 3, "the mbox envelope line is not a header");
    }

    #[test]
    fn missing_list_id_and_headerless_parts() {
        let m = Message::parse("Subject: x\n\nhi");
        assert_eq!(m.list_id(), None);
        let part = Message::parse("\njust text\n\nKey: not a header");
        assert!(part.headers.is_empty());
        assert_eq!(part.body, "just text\n\nKey: not a header");
        let bare = Message::parse("no headers here, only words");
        assert_eq!(bare.body, "no headers here, only words");
    }
}
