//! End-to-end tests of the console in a real headless Chromium: each test gets its own server,
//! database and browser session (see `shiplog_e2e::run`), so they run in parallel. Needs the
//! built console (`cargo xtask console`), `/usr/bin/chromedriver` and `/usr/bin/chromium`.

mod compare;
mod deliveries;
mod elsewhere;
mod environments;
mod history;
mod locks;
mod markup;
mod preview;
mod sign_in;
mod unfinished;
