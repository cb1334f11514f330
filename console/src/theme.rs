//! Light, dark or the system's choice, remembered in local storage and applied as the
//! `data-theme` attribute of `<html>` (the stylesheet does the rest).

const KEY: &str = "shiplog.theme";

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Theme {
    System,
    Light,
    Dark,
}

impl Theme {
    pub const ALL: [Theme; 3] = [Theme::System, Theme::Light, Theme::Dark];

    pub fn as_str(self) -> &'static str {
        match self {
            Theme::System => "system",
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Theme::System => "System theme",
            Theme::Light => "Light theme",
            Theme::Dark => "Dark theme",
        }
    }

    pub fn parse(text: &str) -> Theme {
        Theme::ALL
            .into_iter()
            .find(|t| t.as_str() == text)
            .unwrap_or(Theme::System)
    }
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// The remembered theme.
pub fn load() -> Theme {
    storage()
        .and_then(|s| s.get_item(KEY).ok().flatten())
        .map(|t| Theme::parse(&t))
        .unwrap_or(Theme::System)
}

/// Applies and remembers `theme`.
pub fn apply(theme: Theme) {
    if let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = root.set_attribute("data-theme", theme.as_str());
    }
    if let Some(storage) = storage() {
        let _ = storage.set_item(KEY, theme.as_str());
    }
}
