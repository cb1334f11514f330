//! Query strings ⇄ view state. Every filter lives in the URL so a pasted link reproduces the view
//! and the browser's back and forward buttons restore earlier filters.

/// `key=value&…`, percent-encoded.
pub fn encode_pairs<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (key, value) in pairs {
        serializer.append_pair(key.as_ref(), value.as_ref());
    }
    serializer.finish()
}

/// One path segment, percent-encoded: everything but RFC 3986's unreserved characters.
pub fn encode_segment(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(byte).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// The pairs of a query string, with or without its leading `?`.
pub fn decode_pairs(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.trim_start_matches('?').as_bytes())
        .into_owned()
        .collect()
}

/// The value of `key` in a query string.
pub fn param(query: &str, key: &str) -> Option<String> {
    decode_pairs(query)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use shiplog_model::{DeployStatus, HistoryQuery};

    #[test]
    fn a_history_query_survives_the_url() {
        let query = HistoryQuery {
            namespace: Some("prod".into()),
            status: Some(DeployStatus::Failed),
            q: Some("fix & <b>ü".into()),
            ..Default::default()
        };
        let url = encode_pairs(&query.to_pairs());
        assert_eq!(url, "namespace=prod&status=failed&q=fix+%26+%3Cb%3E%C3%BC");
        assert_eq!(
            HistoryQuery::from_pairs(decode_pairs(&format!("?{url}"))),
            Ok(query)
        );
        assert_eq!(
            param("?order=dev%2Cprod", "order").as_deref(),
            Some("dev,prod")
        );
    }

    #[test]
    fn a_path_segment_cannot_leave_its_segment() {
        assert_eq!(encode_segment("prod"), "prod");
        assert_eq!(encode_segment("../x y/ü?"), "..%2Fx%20y%2F%C3%BC%3F");
    }
}
