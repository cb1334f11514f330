//! HorizontalPodAutoscalers (`autoscaling/v2`) as the API server validates them: a scale
//! target with a kind and a name, `minReplicas` of at least 1 when set, `maxReplicas` of at
//! least 1 and at least `minReplicas`. kubesim runs no autoscaler: the objects are stored so
//! that a deploy can see which workloads an autoscaler scales.

use serde_json::Value;

use crate::error::FieldError;
use crate::meta;

/// The problems of an autoscaler's spec.
pub fn errors(obj: &Value, errors: &mut Vec<FieldError>) {
    for field in ["kind", "name"] {
        if meta::str_at(obj, &["spec", "scaleTargetRef", field]).is_none_or(str::is_empty) {
            errors.push(FieldError::required(
                format!("spec.scaleTargetRef.{field}"),
                "",
            ));
        }
    }
    let min = meta::i64_at(obj, &["spec", "minReplicas"]);
    if let Some(min) = min
        && min < 1
    {
        errors.push(FieldError::invalid(
            "spec.minReplicas",
            min,
            "must be greater than or equal to 1",
        ));
    }
    let max = meta::i64_at(obj, &["spec", "maxReplicas"]).unwrap_or(0);
    if max < 1 {
        errors.push(FieldError::invalid(
            "spec.maxReplicas",
            max,
            "must be greater than 0",
        ));
    } else if max < min.unwrap_or(1) {
        errors.push(FieldError::invalid(
            "spec.maxReplicas",
            max,
            "must be greater than or equal to `minReplicas`",
        ));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn problems(spec: Value) -> Vec<String> {
        let mut found = Vec::new();
        errors(&json!({ "spec": spec }), &mut found);
        found.iter().map(|e| e.to_string()).collect()
    }

    #[test]
    fn a_scale_target_and_sane_bounds_are_required() {
        let target = json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"});
        assert!(
            problems(json!({"scaleTargetRef": target, "minReplicas": 2, "maxReplicas": 10}))
                .is_empty()
        );
        let found = problems(json!({"minReplicas": 5, "maxReplicas": 3}));
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(
            found[0].starts_with("spec.scaleTargetRef.kind: Required value"),
            "{found:?}"
        );
        assert!(
            found[2].contains(
                "spec.maxReplicas: Invalid value: 3: must be greater than or equal to `minReplicas`"
            ),
            "{found:?}"
        );
        let found = problems(json!({"scaleTargetRef": target, "minReplicas": 0}));
        assert!(
            found
                .iter()
                .any(|f| f.contains("spec.minReplicas: Invalid value: 0")),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|f| f.contains("spec.maxReplicas: Invalid value: 0: must be greater than 0")),
            "{found:?}"
        );
    }
}
