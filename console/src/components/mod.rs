//! Pieces shared by the pages.

pub mod charts;
pub mod deliveries;
pub mod diff;
pub mod layout;
pub mod locks;
pub mod states;
pub mod status;
pub mod time_ago;
