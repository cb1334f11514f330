//! One module per route.

pub mod compare;
pub mod deploy;
pub mod environments;
pub mod history;
pub mod insights;
pub mod not_found;
