//! PodDisruptionBudgets (`policy/v1`) as the API server validates them: `minAvailable` and
//! `maxUnavailable` not both set, each a non-negative integer or a percentage of at most
//! 100%, and a supported `unhealthyPodEvictionPolicy`. The spec may change after creation.

use serde_json::Value;

use super::quote;
use crate::error::FieldError;
use crate::meta;

const POLICIES: [&str; 2] = ["AlwaysAllow", "IfHealthyBudget"];

const PERCENT_MSG: &str = "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')";

/// Go's `%#v` of a pointer field: its (made-up) address, or `nil`.
fn pointer(ty: &str, set: bool, address: &str) -> String {
    if set {
        format!("({ty})({address})")
    } else {
        format!("({ty})(nil)")
    }
}

/// Go's `%#v` of the internal spec, as the message quotes it (addresses vary on a real server
/// too).
fn go_spec(spec: &Value) -> String {
    let has = |field: &str| spec.get(field).is_some_and(|v| !v.is_null());
    format!(
        "policy.PodDisruptionBudgetSpec{{MinAvailable:{}, Selector:{}, MaxUnavailable:{}, UnhealthyPodEvictionPolicy:{}}}",
        pointer("*intstr.IntOrString", has("minAvailable"), "0xc000a2c100"),
        pointer("*v1.LabelSelector", has("selector"), "0xc000a2c120"),
        pointer("*intstr.IntOrString", has("maxUnavailable"), "0xc000a2c140"),
        pointer(
            "*policy.UnhealthyPodEvictionPolicyType",
            has("unhealthyPodEvictionPolicy"),
            "0xc000a2c160"
        ),
    )
}

/// An `IntOrString` that must be a non-negative count or a percentage up to 100%.
fn int_or_percent(value: &Value, field: &str, errors: &mut Vec<FieldError>) {
    match value {
        Value::Number(n) => {
            let n = n.as_i64().unwrap_or(-1);
            if n < 0 {
                errors.push(FieldError::invalid(
                    field,
                    n,
                    "must be greater than or equal to 0",
                ));
            }
        }
        Value::String(s) => match percent(s) {
            None => errors.push(FieldError::invalid(
                field,
                format!(
                    "intstr.IntOrString{{Type:1, IntVal:0, StrVal:{}}}",
                    quote(s)
                ),
                PERCENT_MSG,
            )),
            Some(p) if p > 100 => errors.push(FieldError::invalid(
                field,
                quote(s),
                "must not be greater than 100%",
            )),
            Some(_) => {}
        },
        other => errors.push(FieldError::invalid(
            field,
            other,
            "must be an integer or percentage (e.g '5%')",
        )),
    }
}

/// The number of `50%`; `None` unless digits and `%`.
pub fn percent(s: &str) -> Option<u64> {
    let digits = s.strip_suffix('%')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.parse().unwrap_or(u64::MAX))
}

/// The problems of a budget's spec.
pub fn errors(obj: &Value, errors: &mut Vec<FieldError>) {
    let Some(spec) = obj.get("spec") else {
        return;
    };
    let field = |name: &str| spec.get(name).filter(|v| !v.is_null());
    let (min, max) = (field("minAvailable"), field("maxUnavailable"));
    if min.is_some() && max.is_some() {
        errors.push(FieldError::invalid(
            "spec",
            go_spec(spec),
            "minAvailable and maxUnavailable cannot be both set",
        ));
    }
    for (name, value) in [("minAvailable", min), ("maxUnavailable", max)] {
        if let Some(value) = value {
            int_or_percent(value, &format!("spec.{name}"), errors);
        }
    }
    if let Some(policy) = meta::str_at(spec, &["unhealthyPodEvictionPolicy"])
        && !POLICIES.contains(&policy)
    {
        errors.push(FieldError::not_supported(
            "spec.unhealthyPodEvictionPolicy",
            policy,
            &POLICIES,
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn messages(obj: &Value) -> Vec<String> {
        let mut out = Vec::new();
        errors(obj, &mut out);
        out.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn budgets_take_one_count_or_percentage() {
        assert!(messages(&json!({"spec": {"minAvailable": 1, "selector": {}}})).is_empty());
        assert!(messages(&json!({"spec": {"maxUnavailable": "25%"}})).is_empty());
        assert_eq!(
            messages(&json!({"spec": {"minAvailable": 1, "maxUnavailable": -1, "selector": {}}})),
            [
                "spec: Invalid value: policy.PodDisruptionBudgetSpec{MinAvailable:(*intstr.IntOrString)(0xc000a2c100), Selector:(*v1.LabelSelector)(0xc000a2c120), MaxUnavailable:(*intstr.IntOrString)(0xc000a2c140), UnhealthyPodEvictionPolicy:(*policy.UnhealthyPodEvictionPolicyType)(nil)}: minAvailable and maxUnavailable cannot be both set",
                "spec.maxUnavailable: Invalid value: -1: must be greater than or equal to 0",
            ]
        );
        assert_eq!(
            messages(
                &json!({"spec": {"minAvailable": "150%", "unhealthyPodEvictionPolicy": "Never"}})
            ),
            [
                "spec.minAvailable: Invalid value: \"150%\": must not be greater than 100%",
                "spec.unhealthyPodEvictionPolicy: Unsupported value: \"Never\": supported values: \"AlwaysAllow\", \"IfHealthyBudget\"",
            ]
        );
        assert_eq!(
            messages(&json!({"spec": {"maxUnavailable": "half"}})),
            [format!(
                "spec.maxUnavailable: Invalid value: intstr.IntOrString{{Type:1, IntVal:0, StrVal:\"half\"}}: {PERCENT_MSG}"
            )]
        );
    }
}
