//! Decoding the Kubernetes protobuf envelope for the kinds whose objects are only metadata
//! and string maps — Namespace, ConfigMap, Secret, ServiceAccount — which `kubectl create
//! namespace|configmap|secret|serviceaccount` send as protobuf with no JSON fallback. Other
//! kinds are refused with `415`; kubectl sends them as JSON everywhere else.

use base64::Engine as _;
use serde_json::{Map, Value, json};

use crate::resources::Kind;

/// The envelope's magic prefix.
const MAGIC: &[u8] = b"k8s\0";

/// One protobuf field: its number and its value (varint or bytes).
enum Wire<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

fn varint(buf: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = buf.split_first()?;
        *buf = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// The fields of a message, in order; `None` when it is malformed.
fn fields(mut buf: &[u8]) -> Option<Vec<(u64, Wire<'_>)>> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let tag = varint(&mut buf)?;
        let value = match tag & 7 {
            0 => Wire::Varint(varint(&mut buf)?),
            2 => {
                let len = usize::try_from(varint(&mut buf)?).ok()?;
                if len > buf.len() {
                    return None;
                }
                let (bytes, rest) = buf.split_at(len);
                buf = rest;
                Wire::Bytes(bytes)
            }
            1 => {
                buf = buf.get(8..)?;
                Wire::Varint(0)
            }
            5 => {
                buf = buf.get(4..)?;
                Wire::Varint(0)
            }
            _ => return None,
        };
        out.push((tag >> 3, value));
    }
    Some(out)
}

fn string(bytes: &[u8]) -> Value {
    json!(String::from_utf8_lossy(bytes))
}

/// A `map<string, string>` (or bytes, base64-encoded as JSON does) entry into `map`.
fn map_entry(map: &mut Map<String, Value>, entry: &[u8], bytes_values: bool) -> Option<()> {
    let (mut key, mut value) = (String::new(), Vec::new());
    for (n, w) in fields(entry)? {
        match (n, w) {
            (1, Wire::Bytes(b)) => key = String::from_utf8_lossy(b).into_owned(),
            (2, Wire::Bytes(b)) => value = b.to_vec(),
            _ => {}
        }
    }
    let value = if bytes_values {
        json!(base64::engine::general_purpose::STANDARD.encode(&value))
    } else {
        json!(String::from_utf8_lossy(&value))
    };
    map.insert(key, value);
    Some(())
}

fn object_meta(buf: &[u8]) -> Option<Value> {
    let mut meta = Map::new();
    let (mut labels, mut annotations, mut finalizers) = (Map::new(), Map::new(), Vec::new());
    for (n, w) in fields(buf)? {
        match (n, w) {
            // Go's protobuf writes empty strings; JSON would have omitted them.
            (1..=3, Wire::Bytes([])) => {}
            (1, Wire::Bytes(b)) => drop(meta.insert("name".into(), string(b))),
            (2, Wire::Bytes(b)) => drop(meta.insert("generateName".into(), string(b))),
            (3, Wire::Bytes(b)) => drop(meta.insert("namespace".into(), string(b))),
            (11, Wire::Bytes(b)) => map_entry(&mut labels, b, false)?,
            (12, Wire::Bytes(b)) => map_entry(&mut annotations, b, false)?,
            (14, Wire::Bytes(b)) => finalizers.push(string(b)),
            _ => {}
        }
    }
    for (key, map) in [("labels", labels), ("annotations", annotations)] {
        if !map.is_empty() {
            meta.insert(key.into(), Value::Object(map));
        }
    }
    if !finalizers.is_empty() {
        meta.insert("finalizers".into(), Value::Array(finalizers));
    }
    Some(Value::Object(meta))
}

/// The object's own fields (beyond metadata) of the supported kinds.
fn own_field(kind: Kind, obj: &mut Map<String, Value>, n: u64, w: Wire<'_>) -> Option<()> {
    let Wire::Bytes(b) = w else {
        if let (Kind::ConfigMap, 4) | (Kind::Secret, 5) = (kind, n) {
            obj.insert("immutable".into(), json!(matches!(w, Wire::Varint(1))));
        }
        if let (Kind::ServiceAccount, 4) = (kind, n) {
            obj.insert(
                "automountServiceAccountToken".into(),
                json!(matches!(w, Wire::Varint(1))),
            );
        }
        return Some(());
    };
    let mut entry = |field: &str, bytes: bool| -> Option<()> {
        let map = obj.entry(field).or_insert_with(|| json!({}));
        map_entry(map.as_object_mut()?, b, bytes)
    };
    match (kind, n) {
        (Kind::ConfigMap, 2) => entry("data", false),
        (Kind::ConfigMap, 3) => entry("binaryData", true),
        (Kind::Secret, 2) => entry("data", true),
        (Kind::Secret, 4) => entry("stringData", false),
        (Kind::Secret, 3) if b.is_empty() => Some(()),
        (Kind::Secret, 3) => {
            obj.insert("type".into(), string(b));
            Some(())
        }
        _ => Some(()),
    }
}

/// Decodes a protobuf request body for `kind`; `None` when the kind is not supported or the
/// body is malformed.
pub fn decode(kind: Kind, body: &[u8]) -> Option<Value> {
    if !matches!(
        kind,
        Kind::Namespace | Kind::ConfigMap | Kind::Secret | Kind::ServiceAccount
    ) {
        return None;
    }
    let envelope = body.strip_prefix(MAGIC)?;
    let raw = fields(envelope)?
        .into_iter()
        .find_map(|(n, w)| match (n, w) {
            (2, Wire::Bytes(b)) => Some(b),
            _ => None,
        })?;
    let def = kind.def();
    let mut obj = Map::new();
    obj.insert("apiVersion".into(), json!(def.api_version()));
    obj.insert("kind".into(), json!(kind.name()));
    for (n, w) in fields(raw)? {
        match (n, w) {
            (1, Wire::Bytes(b)) => {
                obj.insert("metadata".into(), object_meta(b)?);
            }
            (n, w) => own_field(kind, &mut obj, n, w)?,
        }
    }
    Some(Value::Object(obj))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(n: u64, bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![(n << 3 | 2) as u8, bytes.len() as u8];
        out.extend_from_slice(bytes);
        out
    }

    #[test]
    fn decodes_a_config_map() {
        let meta = [
            field(1, b"settings"),
            field(11, &[field(1, b"app"), field(2, b"web")].concat()),
        ]
        .concat();
        let raw = [
            field(1, &meta),
            field(2, &[field(1, b"A"), field(2, b"b")].concat()),
        ]
        .concat();
        let body = [
            MAGIC.to_vec(),
            field(1, &[field(1, b"v1"), field(2, b"ConfigMap")].concat()),
            field(2, &raw),
        ]
        .concat();
        let obj = decode(Kind::ConfigMap, &body).unwrap();
        assert_eq!(obj["metadata"]["name"], "settings");
        assert_eq!(obj["metadata"]["labels"]["app"], "web");
        assert_eq!(obj["data"]["A"], "b");
        assert!(decode(Kind::Deployment, &body).is_none());
        assert!(decode(Kind::ConfigMap, b"k8s\0\xff").is_none());
    }
}
