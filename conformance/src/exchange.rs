//! Recorded HTTP exchanges, and the curl command that repeats one.
//!
//! Every request a check makes is recorded with its answer, so a failure can
//! show what the suite sent and saw, and how to send it again by hand.

use serde::Serialize;

/// How many body bytes a report shows.
const SHOWN_BODY_BYTES: usize = 4096;

/// One request and its answer, as a report shows them.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Exchange {
    /// `GET`, `POST`, …
    pub method: String,
    /// The absolute URL.
    pub url: String,
    /// The request headers the suite set (not the ones the HTTP library adds).
    pub request_headers: Vec<(String, String)>,
    /// The request body, as text when it is UTF-8 (shortened), else described.
    pub request_body: Option<String>,
    /// The whole request body when it is UTF-8, for the curl command.
    #[serde(skip)]
    pub request_body_full: Option<String>,
    /// The answer's status, or `None` when none came.
    pub status: Option<u16>,
    /// The answer's headers.
    pub response_headers: Vec<(String, String)>,
    /// The answer's body as text (shortened), or a description.
    pub response_body: Option<String>,
    /// The transport error, when there was no answer.
    pub error: Option<String>,
    /// Milliseconds from sending to the end of the answer.
    pub elapsed_ms: u64,
}

impl Exchange {
    /// A curl command that sends the same request.
    pub fn curl(&self) -> String {
        let mut cmd = String::from("curl -i");
        if self.method == "HEAD" {
            cmd.push_str(" --head");
        } else if self.method != "GET" {
            cmd.push_str(" -X ");
            cmd.push_str(&self.method);
        }
        cmd.push(' ');
        cmd.push_str(&shell_quote(&self.url));
        for (name, value) in &self.request_headers {
            cmd.push_str(" -H ");
            cmd.push_str(&shell_quote(&format!("{name}: {value}")));
        }
        match (&self.request_body_full, &self.request_body) {
            (Some(body), _) => {
                cmd.push_str(" --data-binary ");
                cmd.push_str(&shell_quote(body));
            }
            (None, Some(described)) => {
                cmd.push_str(" --data-binary @body # ");
                cmd.push_str(described);
            }
            (None, None) => {}
        }
        cmd
    }
}

/// A body for display: UTF-8 text shortened to a few KiB, else a description.
pub fn show_body(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) if text.len() <= SHOWN_BODY_BYTES => text.to_owned(),
        Ok(text) => {
            let mut end = SHOWN_BODY_BYTES;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            format!("{}… ({} bytes in all)", &text[..end], bytes.len())
        }
        Err(_) => format!("({} bytes, not UTF-8)", bytes.len()),
    }
}

/// Quote `text` for a POSIX shell.
pub fn shell_quote(text: &str) -> String {
    if !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@,%+".contains(&b))
    {
        return text.to_owned();
    }
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curl_repeats_method_url_headers_and_body() {
        let exchange = Exchange {
            method: "POST".into(),
            url: "http://127.0.0.1:1/v1/operations/probe/jobs".into(),
            request_headers: vec![("Content-Type".into(), "application/json".into())],
            request_body: Some(r#"{"params":{"echo":"it's"}}"#.into()),
            request_body_full: Some(r#"{"params":{"echo":"it's"}}"#.into()),
            status: Some(202),
            response_headers: vec![],
            response_body: None,
            error: None,
            elapsed_ms: 1,
        };
        assert_eq!(
            exchange.curl(),
            r#"curl -i -X POST http://127.0.0.1:1/v1/operations/probe/jobs -H 'Content-Type: application/json' --data-binary '{"params":{"echo":"it'\''s"}}'"#
        );
    }

    #[test]
    fn long_and_binary_bodies_are_described() {
        assert_eq!(show_body(&[0xff, 0xfe]), "(2 bytes, not UTF-8)");
        let long = "x".repeat(5000);
        assert!(show_body(long.as_bytes()).ends_with("(5000 bytes in all)"));
    }
}
