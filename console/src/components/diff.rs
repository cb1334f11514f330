//! A unified diff as people read it: one line per row, additions and removals marked by colour
//! and by their `+`/`-`, hunk headers apart. Text only: whatever the diff holds is shown, never
//! interpreted.

use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct DiffProps {
    pub text: AttrValue,
}

/// The class of one line of a unified diff.
pub fn line_class(line: &str) -> &'static str {
    if line.starts_with("+++") || line.starts_with("---") {
        "file"
    } else if line.starts_with("@@") {
        "hunk"
    } else if line.starts_with('+') {
        "add"
    } else if line.starts_with('-') {
        "del"
    } else {
        "ctx"
    }
}

#[function_component(Diff)]
pub fn diff(props: &DiffProps) -> Html {
    html! {
        <pre class="diff">{ for props.text.lines().map(|line| html! {
            <span class={line_class(line)}>{line}{"\n"}</span>
        }) }</pre>
    }
}

/// "3 changed · 1 created", what a deploy did to its objects in a few words; empty when it
/// reported none.
pub fn change_summary(counts: [usize; 4]) -> String {
    let [created, configured, unchanged, failed] = counts;
    let parts: Vec<String> = [
        (configured, "changed"),
        (created, "created"),
        (failed, "failed"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, word)| format!("{n} {word}"))
    .collect();
    match (parts.is_empty(), unchanged) {
        (true, 0) => String::new(),
        (true, _) => "no changes".into(),
        _ => parts.join(" · "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_classed_by_their_mark() {
        assert_eq!(line_class("--- live Deployment/api"), "file");
        assert_eq!(line_class("@@ -1,3 +1,3 @@"), "hunk");
        assert_eq!(line_class("+  image: api:v2"), "add");
        assert_eq!(line_class("-  image: api:v1"), "del");
        assert_eq!(line_class("   replicas: 2"), "ctx");
    }

    #[test]
    fn summaries_name_what_changed() {
        assert_eq!(change_summary([1, 3, 31, 0]), "3 changed · 1 created");
        assert_eq!(change_summary([0, 0, 35, 0]), "no changes");
        assert_eq!(change_summary([0, 0, 0, 0]), "");
        assert_eq!(change_summary([0, 1, 0, 1]), "1 changed · 1 failed");
    }
}
