//! The console's sign-in cookie. A browser cannot put a bearer token on an `EventSource`, so the
//! sign-in page exchanges the read token for a cookie: `v1.<expiry>.<mac>`, where `mac` is
//! HMAC-SHA256, keyed with the read token, of the expiry. The cookie is not the token and does
//! not reveal it; it is the same on every replica and across restarts (no server-side state),
//! and changing the read token signs every browser out. It is `HttpOnly`, `SameSite=Strict`,
//! `Path=/`, and `Secure` when the public URL is https.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac as _};
use sha2::Sha256;

/// The cookie's name.
pub const COOKIE: &str = "shiplog_session";
/// How long a sign-in lasts.
pub const LIFETIME: chrono::Duration = chrono::Duration::days(7);

/// Mints and checks session cookies for one read token.
#[derive(Clone)]
pub struct SessionKey {
    key: Vec<u8>,
    secure: bool,
}

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey(redacted)")
    }
}

impl SessionKey {
    /// `secure`: whether browsers reach the server over https (the cookie then says `Secure`).
    pub fn new(read_token: &str, secure: bool) -> SessionKey {
        SessionKey {
            key: read_token.as_bytes().to_vec(),
            secure,
        }
    }

    /// The same key, its cookies `Secure` or not.
    pub fn secure(self, secure: bool) -> SessionKey {
        SessionKey { secure, ..self }
    }

    fn mac(&self, expires: i64) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key");
        mac.update(b"shiplog-session-v1\0");
        mac.update(expires.to_string().as_bytes());
        mac
    }

    /// A cookie value valid until `now` + [`LIFETIME`].
    pub fn mint(&self, now: DateTime<Utc>) -> String {
        let expires = (now + LIFETIME).timestamp();
        let tag = self.mac(expires).finalize().into_bytes();
        format!("v1.{expires}.{}", URL_SAFE_NO_PAD.encode(tag))
    }

    /// Whether `value` is a cookie this key minted that has not expired.
    pub fn verify(&self, value: &str, now: DateTime<Utc>) -> bool {
        let mut parts = value.split('.');
        let (Some("v1"), Some(expires), Some(tag), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return false;
        };
        let Ok(expires) = expires.parse::<i64>() else {
            return false;
        };
        let Ok(tag) = URL_SAFE_NO_PAD.decode(tag) else {
            return false;
        };
        // verify_slice compares in constant time.
        expires > now.timestamp() && self.mac(expires).verify_slice(&tag).is_ok()
    }

    /// The `Set-Cookie` value that signs a browser in.
    pub fn set_cookie(&self, now: DateTime<Utc>) -> String {
        self.attributes(&self.mint(now), LIFETIME.num_seconds())
    }

    /// The `Set-Cookie` value that signs a browser out.
    pub fn clear_cookie(&self) -> String {
        self.attributes("", 0)
    }

    fn attributes(&self, value: &str, max_age: i64) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!("{COOKIE}={value}; Max-Age={max_age}; Path=/; HttpOnly; SameSite=Strict{secure}")
    }
}

/// The session cookie's value among a request's `Cookie` headers.
pub fn from_headers(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|line| line.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == COOKIE).then_some(value)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_bound_to_the_token_and_expire() {
        let now = Utc::now();
        let key = SessionKey::new("read-token", false);
        let cookie = key.mint(now);
        assert!(!cookie.contains("read-token"));
        assert!(key.verify(&cookie, now));
        assert!(key.verify(&cookie, now + LIFETIME - chrono::Duration::seconds(1)));
        assert!(!key.verify(&cookie, now + LIFETIME), "expired");
        assert!(!SessionKey::new("other-token", false).verify(&cookie, now));
        // A later expiry with the old tag is refused.
        let (_, tag) = cookie.rsplit_once('.').unwrap();
        let forged = format!("v1.{}.{tag}", (now + LIFETIME * 100).timestamp());
        assert!(!key.verify(&forged, now));
        for junk in ["", "v1", "v1.x.y", "v2.1.AAAA", &format!("{cookie}.x")] {
            assert!(!key.verify(junk, now), "{junk}");
        }
    }

    #[test]
    fn attributes_fit_the_public_url() {
        let now = Utc::now();
        let plain = SessionKey::new("t", false).set_cookie(now);
        assert!(
            plain.contains("HttpOnly") && plain.contains("SameSite=Strict"),
            "{plain}"
        );
        assert!(!plain.contains("Secure"));
        assert!(
            SessionKey::new("t", true)
                .set_cookie(now)
                .ends_with("; Secure")
        );
        assert!(
            SessionKey::new("t", true)
                .clear_cookie()
                .contains("Max-Age=0")
        );
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut headers = axum::http::HeaderMap::new();
        headers.append(
            "cookie",
            "theme=dark; shiplog_session=v1.2.abc".parse().unwrap(),
        );
        assert_eq!(from_headers(&headers), Some("v1.2.abc"));
        headers.clear();
        headers.append("cookie", "xshiplog_session=1".parse().unwrap());
        assert_eq!(from_headers(&headers), None);
    }
}
