//! `/api/v1/deliveries`: the delivery log of outgoing webhooks, newest first, for a deploy or a
//! webhook. Names each delivery's webhook, never its URL, secret, token or headers.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use shiplog_model::deliveries::{DEFAULT_DELIVERIES, MAX_DELIVERIES};
use shiplog_model::{Deliveries, ErrorBody, FieldError};

use crate::AppState;
use crate::auth::ReadAccess;
use crate::error::AppError;
use crate::extract::QueryPairs;
use crate::store::DeliveryFilter;
use crate::webhooks::config::MAX_NAME;

/// The longest value of each parameter, in bytes.
const MAX_LENGTHS: [(&str, usize); 3] = [("deploy", 20), ("webhook", MAX_NAME), ("limit", 8)];

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/deliveries", get(deliveries))
}

/// Webhook deliveries, newest first.
#[utoipa::path(
    get, path = "/api/v1/deliveries", tag = "deliveries",
    params(
        ("deploy" = Option<i64>, Query, description = "Only this deploy's deliveries"),
        ("webhook" = Option<String>, Query, description = "Only this webhook's deliveries"),
        ("limit" = Option<u32>, Query, description = "At most this many (default 50, at most 200)"),
    ),
    responses(
        (status = 200, description = "The deliveries", body = Deliveries),
        (status = 400, description = "A parameter is longer than its maximum", body = ErrorBody),
        (status = 422, description = "Invalid parameter", body = ErrorBody),
    )
)]
pub async fn deliveries(
    State(state): State<AppState>,
    _: ReadAccess,
    pairs: QueryPairs,
) -> Result<Json<Deliveries>, AppError> {
    let filter = parse(pairs.within(&MAX_LENGTHS)?)?;
    Ok(Json(state.store.deliveries(&filter).await?))
}

fn parse(pairs: Vec<(String, String)>) -> Result<DeliveryFilter, FieldError> {
    let mut filter = DeliveryFilter {
        limit: DEFAULT_DELIVERIES,
        ..DeliveryFilter::default()
    };
    for (key, value) in pairs {
        if value.is_empty() {
            continue;
        }
        match key.as_str() {
            "deploy" => {
                let id = value.parse().ok().filter(|&id: &i64| id > 0);
                let id = id.ok_or_else(|| FieldError::new("deploy", "must be a deploy id"))?;
                filter.deploy = Some(shiplog_model::DeployId(id));
            }
            "webhook" => filter.webhook = Some(value),
            "limit" => {
                filter.limit = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_DELIVERIES).contains(n))
                    .ok_or_else(|| {
                        FieldError::new("limit", format!("must be 1 to {MAX_DELIVERIES}"))
                    })?;
            }
            _ => return Err(FieldError::new(key, "is not a known parameter")),
        }
    }
    Ok(filter)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_limit_is_bounded_and_parameters_known() {
        let filter = parse(vec![]).unwrap();
        assert_eq!(filter.limit, DEFAULT_DELIVERIES);
        let filter = parse(pairs(&[
            ("deploy", "7"),
            ("webhook", "w"),
            ("limit", "200"),
        ]))
        .unwrap();
        assert_eq!(filter.deploy, Some(shiplog_model::DeployId(7)));
        assert_eq!(filter.webhook.as_deref(), Some("w"));
        assert_eq!(filter.limit, 200);
        for (key, value) in [
            ("limit", "201"),
            ("limit", "0"),
            ("deploy", "-1"),
            ("x", "1"),
        ] {
            assert_eq!(parse(pairs(&[(key, value)])).unwrap_err().field, key);
        }
    }
}
