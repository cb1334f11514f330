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
}
