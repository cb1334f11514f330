//! Secrets as the server keeps them: the SHA-256 digest of a token, compared in constant time.
//! Comparing digests rather than the tokens themselves means the time a comparison takes says
//! nothing about a token's length or content. Not for passwords: tokens are long and random.

use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;

/// The SHA-256 digest of a secret.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SecretDigest([u8; 32]);

impl SecretDigest {
    /// The digest of `secret`.
    pub fn of(secret: &str) -> SecretDigest {
        SecretDigest(Sha256::digest(secret.as_bytes()).into())
    }

    /// Parses 64 hexadecimal digits (a `sha256sum` line's first field).
    pub fn from_hex(hex: &str) -> Option<SecretDigest> {
        if hex.len() != 64 {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (byte, pair) in bytes.iter_mut().zip(hex.as_bytes().chunks(2)) {
            let pair = std::str::from_utf8(pair).ok()?;
            *byte = u8::from_str_radix(pair, 16).ok()?;
        }
        Some(SecretDigest(bytes))
    }

    /// Constant-time equality.
    pub fn matches(&self, other: &SecretDigest) -> bool {
        self.0.ct_eq(&other.0).into()
    }

    /// All 64 hex digits, as `sha256sum` prints them (a digest is no secret).
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The first 8 hex digits: names a token in logs without revealing it.
    pub fn fingerprint(&self) -> String {
        self.0[..4].iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl std::fmt::Debug for SecretDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretDigest({}…)", self.fingerprint())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_match_sha256sum() {
        // printf 'abc' | sha256sum
        let hex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let parsed = SecretDigest::from_hex(hex).unwrap();
        assert!(parsed.matches(&SecretDigest::of("abc")));
        assert!(SecretDigest::from_hex(&hex.to_uppercase()).is_some());
        assert!(!parsed.matches(&SecretDigest::of("abd")));
        assert_eq!(parsed.fingerprint(), "ba7816bf");
        assert_eq!(parsed.to_hex(), hex);
        assert!(SecretDigest::from_hex(&hex[1..]).is_none());
        assert!(SecretDigest::from_hex(&format!("{}zz", &hex[2..])).is_none());
        assert!(!format!("{parsed:?}").contains(hex));
    }
}
