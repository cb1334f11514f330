//! The signature of a generic delivery, as GitHub signs its webhooks (`X-Hub-Signature-256`):
//! `X-Shiplog-Signature: sha256=<hex>`, the HMAC-SHA256 of the exact body bytes keyed with the
//! webhook's secret. A receiver recomputes it over the raw body it read (before parsing the
//! JSON) and compares in constant time.

use hmac::{Hmac, Mac as _};
use sha2::Sha256;

/// The header carrying the signature.
pub const HEADER: &str = "X-Shiplog-Signature";

/// The header value for `body` signed with `secret`: `sha256=` and 64 lowercase hex digits.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key");
    mac.update(body);
    format!("sha256={:x}", mac.finalize().into_bytes())
}

/// Whether `header` is the signature of `body` with `secret`, compared in constant time: what
/// a receiver does (the tests' receiver uses it).
pub fn verify(secret: &[u8], body: &[u8], header: &str) -> bool {
    let Some(hex) = header.strip_prefix("sha256=") else {
        return false;
    };
    let Some(expected) = decode_hex(hex) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key");
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) || !hex.is_ascii() {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GitHub's documented example for `X-Hub-Signature-256` ("Validating webhook
    /// deliveries"): secret `It's a Secret to Everybody`, payload `Hello, World!`.
    #[test]
    fn matches_githubs_test_vector() {
        let expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert_eq!(
            signature(b"It's a Secret to Everybody", b"Hello, World!"),
            expected
        );
        assert!(verify(
            b"It's a Secret to Everybody",
            b"Hello, World!",
            expected
        ));
        assert!(!verify(b"another secret", b"Hello, World!", expected));
        assert!(!verify(
            b"It's a Secret to Everybody",
            b"Hello, World?",
            expected
        ));
        assert!(!verify(
            b"It's a Secret to Everybody",
            b"Hello, World!",
            &expected[7..]
        ));
        assert!(!verify(b"k", b"", "sha256=zz"));
    }
}
