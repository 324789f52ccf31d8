//! Text shown to people that may come from untrusted input (a gate's
//! output, a config file that is really a 15 MB CSV): cut to a bound, on a
//! character boundary, saying how much was cut so a cap that was hit is
//! visible where the text is shown; and the "did you mean" for a mistyped
//! key.

/// `text` cut to at most `max` bytes, with `… [cut: N of M bytes shown]`.
pub fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}… [cut: {} of {} bytes shown]",
        &text[..end],
        end,
        text.len()
    )
}

/// The candidate nearest to a mistyped `word`, if one is near enough to be
/// what was meant (edit distance at most 2, or a third of its length).
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|k| (strsim::levenshtein(word, k), k))
        .min()
        .filter(|(d, k)| *d <= 2.max(k.len() / 3))
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_keeps_short_text_and_says_what_it_cut() {
        assert_eq!(cut("short", 10), "short");
        let long = "é".repeat(1000); // 2000 bytes
        let c = cut(&long, 101);
        assert!(
            c.starts_with(&"é".repeat(50)),
            "cut on a character boundary"
        );
        assert!(c.ends_with("[cut: 100 of 2000 bytes shown]"), "{c}");
    }
}
