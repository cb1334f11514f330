//! Resource quantities (`5Gi`, `500M`, `0.5`, `1e3`) as the API server reads and writes them:
//! parsed exactly (to the nano, finer amounts rounded up), compared, and written back in the
//! canonical form the server stores and prints — `1024Mi` reads back as `1Gi`, `0.5Gi` as
//! `512Mi`, `1500000k` as `1500M`, and a binary amount below `1Ki` or not a whole number in
//! decimal (`512`, `1500m`).

use std::cmp::Ordering;

use serde_json::Value;

/// Why a quantity does not decode, in the API server's words.
pub const FORMAT_ERROR: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

/// How a quantity was written, which decides how it is written back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    /// `Ki`, `Mi`, … (powers of 1024).
    BinarySI,
    /// No suffix or `n`, `u`, `m`, `k`, `M`, … (powers of 1000).
    DecimalSI,
    /// `e3`, `E-2`.
    DecimalExponent,
}

/// An exact quantity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quantity {
    /// The amount in billionths.
    nanos: i128,
    format: Format,
}

const NANO: i128 = 1_000_000_000;

/// The binary suffixes by power of 1024.
const BINARY: [&str; 7] = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];

/// The decimal suffix of a power of ten that is a multiple of 3 from -9 to 18.
fn decimal_suffix(exponent: i32) -> Option<&'static str> {
    Some(match exponent {
        -9 => "n",
        -6 => "u",
        -3 => "m",
        0 => "",
        3 => "k",
        6 => "M",
        9 => "G",
        12 => "T",
        15 => "P",
        18 => "E",
        _ => return None,
    })
}

/// `(format, power of 1024, power of ten)` of a suffix.
fn suffix(s: &str) -> Option<(Format, u32, i32)> {
    if let Some(i) = BINARY.iter().skip(1).position(|b| *b == s) {
        return Some((Format::BinarySI, i as u32 + 1, 0));
    }
    if let Some(e) = (-3..=6)
        .map(|k| k * 3)
        .find(|e| decimal_suffix(*e) == Some(s))
    {
        return Some((Format::DecimalSI, 0, e));
    }
    let exponent = s.strip_prefix(['e', 'E'])?;
    let digits = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((Format::DecimalExponent, 0, exponent.parse().ok()?))
}

fn pow10(n: u32) -> Option<i128> {
    10i128.checked_pow(n)
}

impl Quantity {
    /// Parses `s` as the API server does; `None` when it is no quantity (or too large).
    pub fn parse(s: &str) -> Option<Quantity> {
        let (negative, rest) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s.strip_prefix('+').unwrap_or(s)),
        };
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, unit) = rest.split_at(end);
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if fraction.contains('.') || whole.len() + fraction.len() == 0 {
            return None;
        }
        let (format, base1024, exp10) = suffix(unit)?;
        let digits = format!("{whole}{fraction}");
        let digits = digits.trim_start_matches('0');
        if digits.len() > 30 {
            return None;
        }
        let mantissa: i128 = if digits.is_empty() {
            0
        } else {
            digits.parse().ok()?
        };
        let mantissa = mantissa.checked_mul(1024i128.checked_pow(base1024)?)?;
        let scale = i64::from(exp10) - fraction.len() as i64 + 9;
        let nanos = if scale >= 0 {
            mantissa.checked_mul(pow10(u32::try_from(scale).ok()?)?)?
        } else {
            // Finer than a nano: rounded up, as the API server does.
            let divisor = pow10(u32::try_from(-scale).ok()?).unwrap_or(i128::MAX);
            mantissa / divisor + i128::from(mantissa % divisor != 0)
        };
        Some(Quantity {
            nanos: if negative { -nanos } else { nanos },
            format,
        })
    }

    /// A quantity as a JSON value holds it: a string, or a number.
    pub fn of(value: &Value) -> Option<Quantity> {
        match value {
            Value::String(s) => Quantity::parse(s),
            Value::Number(n) => Quantity::parse(&n.to_string()),
            _ => None,
        }
    }

    pub fn is_positive(&self) -> bool {
        self.nanos > 0
    }

    /// The form the API server writes back.
    pub fn canonical(&self) -> String {
        if self.nanos == 0 {
            return "0".into();
        }
        let sign = if self.nanos < 0 { "-" } else { "" };
        let amount = self.nanos.abs();
        let binary = self.format == Format::BinarySI && amount >= 1024 * NANO && amount % NANO == 0;
        if binary {
            let (mut value, mut power) = (amount / NANO, 0);
            while power + 1 < BINARY.len() && value % 1024 == 0 {
                value /= 1024;
                power += 1;
            }
            return format!("{sign}{value}{}", BINARY[power]);
        }
        let (mut mantissa, mut exponent) = (amount, -9i32);
        while mantissa % 10 == 0 {
            mantissa /= 10;
            exponent += 1;
        }
        match exponent.rem_euclid(3) {
            1 => (mantissa, exponent) = (mantissa * 10, exponent - 1),
            2 => (mantissa, exponent) = (mantissa * 100, exponent - 2),
            _ => {}
        }
        let unit = match (self.format, decimal_suffix(exponent)) {
            (Format::DecimalExponent, _) | (_, None) if exponent != 0 => format!("e{exponent}"),
            (_, unit) => unit.unwrap_or("").to_string(),
        };
        format!("{sign}{mantissa}{unit}")
    }
}

impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Quantity {
    /// By amount, whatever the format.
    fn cmp(&self, other: &Self) -> Ordering {
        self.nanos.cmp(&other.nanos)
    }
}

/// Rewrites every quantity of the map at `value` in canonical form (what does not parse is
/// left for validation to refuse).
pub fn canonicalize_map(value: Option<&mut Value>) {
    let Some(map) = value.and_then(Value::as_object_mut) else {
        return;
    };
    for quantity in map.values_mut() {
        if let Some(q) = Quantity::of(quantity) {
            *quantity = Value::String(q.canonical());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(s: &str) -> String {
        Quantity::parse(s)
            .unwrap_or_else(|| panic!("{s} parses"))
            .canonical()
    }

    #[test]
    fn quantities_are_written_back_as_the_api_server_does() {
        for (written, stored) in [
            ("5Gi", "5Gi"),
            ("1024Mi", "1Gi"),
            ("0.5Gi", "512Mi"),
            ("1.5Gi", "1536Mi"),
            ("512Ki", "512Ki"),
            ("0.5Ki", "512"),
            ("1000M", "1G"),
            ("1500000k", "1500M"),
            ("1073741824", "1073741824"),
            ("0.5", "500m"),
            ("100m", "100m"),
            ("1e3", "1e3"),
            ("1E3", "1e3"),
            ("10e2", "1e3"),
            ("2E", "2E"),
            ("0", "0"),
            ("0Gi", "0"),
            ("-1Gi", "-1Gi"),
            ("+2k", "2k"),
            ("0.1n", "1n"),
        ] {
            assert_eq!(canonical(written), stored, "{written}");
        }
        for bad in ["", "Gi", "1GB", "1.2.3", "1 Gi", "abc", "1e", "--1"] {
            assert!(Quantity::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn quantities_compare_by_amount() {
        let q = |s: &str| Quantity::parse(s).unwrap();
        assert!(q("1Gi") > q("1G"));
        assert_eq!(q("1024Mi").cmp(&q("1Gi")), Ordering::Equal);
        assert!(q("500Mi") < q("1Gi"));
        assert!(q("1").is_positive() && !q("0").is_positive() && !q("-1").is_positive());
        assert_eq!(Quantity::of(&serde_json::json!(2)), Some(q("2")));
    }
}
