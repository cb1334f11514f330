//! Small typed helpers over objects held as `serde_json::Value`: reading and writing metadata
//! and nested fields, timestamps and generated identifiers. No policy lives here.

use rand::Rng as _;
use serde_json::{Map, Value, json};

/// `metadata.name` (empty when absent).
pub fn name(obj: &Value) -> &str {
    str_at(obj, &["metadata", "name"]).unwrap_or("")
}

/// `metadata.namespace` (empty when absent).
pub fn namespace(obj: &Value) -> &str {
    str_at(obj, &["metadata", "namespace"]).unwrap_or("")
}

/// `metadata.uid` (empty when absent).
pub fn uid(obj: &Value) -> &str {
    str_at(obj, &["metadata", "uid"]).unwrap_or("")
}

/// `metadata.labels` as a map (empty when absent).
pub fn labels(obj: &Value) -> &Map<String, Value> {
    map_at(obj, &["metadata", "labels"])
}

/// The map at `path`, or an empty one.
pub fn map_at<'a>(obj: &'a Value, path: &[&str]) -> &'a Map<String, Value> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    at(obj, path)
        .and_then(Value::as_object)
        .unwrap_or_else(|| EMPTY.get_or_init(Map::new))
}

/// The value at `path`.
pub fn at<'a>(obj: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(obj, |v, key| v.get(key))
}

/// The string at `path`.
pub fn str_at<'a>(obj: &'a Value, path: &[&str]) -> Option<&'a str> {
    at(obj, path).and_then(Value::as_str)
}

/// The integer at `path`.
pub fn i64_at(obj: &Value, path: &[&str]) -> Option<i64> {
    at(obj, path).and_then(Value::as_i64)
}

/// The array at `path`, or an empty slice.
pub fn array_at<'a>(obj: &'a Value, path: &[&str]) -> &'a [Value] {
    at(obj, path)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// Sets `path` to `value`, creating intermediate objects.
pub fn set(obj: &mut Value, path: &[&str], value: Value) {
    let (last, parents) = path.split_last().expect("non-empty path");
    let mut cur = obj;
    for key in parents {
        cur = object_mut(cur)
            .entry(key.to_string())
            .or_insert_with(|| json!({}));
    }
    object_mut(cur).insert(last.to_string(), value);
}

/// Removes `path` if present.
pub fn remove(obj: &mut Value, path: &[&str]) -> Option<Value> {
    let (last, parents) = path.split_last()?;
    let mut cur = obj;
    for key in parents {
        cur = cur.get_mut(key)?;
    }
    cur.as_object_mut()?.remove(*last)
}

/// `obj` as a mutable map, replacing a non-object with an empty one.
pub fn object_mut(obj: &mut Value) -> &mut Map<String, Value> {
    if !obj.is_object() {
        *obj = json!({});
    }
    obj.as_object_mut().expect("just made an object")
}

/// The current time as the API server writes it (RFC 3339, whole seconds, UTC).
pub fn now() -> String {
    timestamp(chrono::Utc::now())
}

/// A time as the API server writes it.
pub fn timestamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Parses a timestamp written by [`timestamp`] (or any RFC 3339 time).
pub fn parse_time(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// A random version-4 UUID, as `metadata.uid` holds.
pub fn new_uid() -> String {
    let b: [u8; 16] = rand::rng().random();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
        u16::from_be_bytes([b[4], b[5]]),
        u16::from_be_bytes([b[6], b[7]]) & 0x0fff,
        (u16::from_be_bytes([b[8], b[9]]) & 0x3fff) | 0x8000,
        u64::from_be_bytes([0, 0, b[10], b[11], b[12], b[13], b[14], b[15]]),
    )
}

/// Five random characters from the alphabet Kubernetes uses for generated names.
pub fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut rng = rand::rng();
    (0..5)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// A stable short hash of a value, encoded the way `pod-template-hash` is (FNV-32a over the
/// canonical JSON, in Kubernetes' "safe" alphabet).
pub fn short_hash(value: &Value) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut hash: u32 = 0x811c_9dc5;
    for byte in value.to_string().bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    let mut out = String::new();
    let mut n = hash;
    while n > 0 || out.is_empty() {
        out.push(ALPHABET[(n % ALPHABET.len() as u32) as usize] as char);
        n /= ALPHABET.len() as u32;
    }
    out
}

/// The owner reference that marks `owner` as the controller of a dependent.
pub fn controller_ref(owner: &Value) -> Value {
    json!({
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": name(owner),
        "uid": uid(owner),
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

/// The uid of the controller named in `obj`'s owner references.
pub fn controller_uid(obj: &Value) -> Option<&str> {
    array_at(obj, &["metadata", "ownerReferences"])
        .iter()
        .find(|r| r["controller"].as_bool() == Some(true))
        .and_then(|r| r["uid"].as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_creates_parents_and_remove_undoes() {
        let mut v = json!({});
        set(&mut v, &["a", "b", "c"], json!(1));
        assert_eq!(i64_at(&v, &["a", "b", "c"]), Some(1));
        assert_eq!(remove(&mut v, &["a", "b", "c"]), Some(json!(1)));
        assert_eq!(v, json!({"a": {"b": {}}}));
    }

    #[test]
    fn uid_and_hash_shapes() {
        let u = new_uid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert_eq!(short_hash(&json!({"a": 1})), short_hash(&json!({"a": 1})));
        assert_ne!(short_hash(&json!({"a": 1})), short_hash(&json!({"a": 2})));
        assert_eq!(random_suffix().len(), 5);
    }
}
