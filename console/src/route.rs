//! The console's routes. Every view is a URL: filters and options live in the query string.

use yew_router::Routable;

#[derive(Debug, Clone, PartialEq, Routable)]
pub enum Route {
    /// What runs where: apps × namespaces.
    #[at("/")]
    Environments,
    /// Every deploy, filtered (`?namespace=&status=&…`).
    #[at("/history")]
    History,
    /// One deploy.
    #[at("/deploys/:id")]
    Deploy { id: i64 },
    /// What deploy `to` applied against what deploy `from` applied.
    #[at("/compare/:from/:to")]
    Compare { from: i64, to: i64 },
    /// Frequency, failure rate, duration and time to restore.
    #[at("/insights")]
    Insights,
    #[not_found]
    #[at("/404")]
    NotFound,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every console URL `cargo xtask demo` prints opens a view, not "Page not found".
    #[test]
    fn every_link_the_demo_prints_opens_a_view() {
        let links = include_str!("../../xtask/src/demo/links.tsv");
        let mut checked = 0;
        for (label, path) in links.lines().filter_map(|l| l.split_once('\t')) {
            if path.starts_with("/api/") {
                continue;
            }
            let path = path.split('?').next().unwrap_or(path);
            let route = Route::recognize(path);
            assert!(
                route.as_ref().is_some_and(|r| *r != Route::NotFound),
                "{label}: {path} is not a view ({route:?})"
            );
            checked += 1;
        }
        assert!(checked >= 4, "{links}");
    }
}
