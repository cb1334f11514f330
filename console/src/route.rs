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
    /// Frequency, failure rate, duration and time to restore.
    #[at("/insights")]
    Insights,
    #[not_found]
    #[at("/404")]
    NotFound,
}
