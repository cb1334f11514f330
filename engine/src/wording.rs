//! Counts in messages people read: "1 object", "35 objects".

/// `count` and `noun`, the noun in the plural unless the count is one (every noun this crate
/// counts takes an "s").
pub fn counted(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::counted;

    #[test]
    fn one_is_singular_and_every_other_count_plural() {
        assert_eq!(counted(1, "object"), "1 object");
        assert_eq!(counted(0, "file"), "0 files");
        assert_eq!(counted(35, "resource"), "35 resources");
    }
}
