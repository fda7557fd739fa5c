//! Cutting text to what a provider's field or an error message takes, and suggesting the word a
//! misspelt one meant.

use std::borrow::Cow;

/// At most `chars` characters of `text`: one slice at a character boundary, borrowed when the
/// text is short enough already.
pub fn first_chars(text: &str, chars: usize) -> Cow<'_, str> {
    match text.char_indices().nth(chars) {
        Some((end, _)) => Cow::Owned(text[..end].to_owned()),
        None => Cow::Borrowed(text),
    }
}

/// The candidate `word` most likely misspells (case aside), when one is close enough: at most a
/// third of its characters edited (at least one), and `word` itself not a candidate.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word: Vec<char> = word.to_lowercase().chars().collect();
    let limit = (word.len() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (edit_distance(&word, &c.to_lowercase().chars().collect::<Vec<_>>()), c))
        .filter(|(d, _)| *d > 0 && *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// ` (did you mean `…`?)` for [`closest`], or nothing.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    closest(word, candidates).map(|c| format!(" (did you mean `{c}`?)")).unwrap_or_default()
}

/// Levenshtein distance, one row at a time.
fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != cb)).min(above + 1).min(row[j] + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn counts_characters_and_borrows_short_text() {
        assert!(matches!(first_chars("Order 1", 32), Cow::Borrowed("Order 1")));
        assert_eq!(first_chars("支付宝扫码支付", 3), "支付宝");
        assert_eq!(first_chars("支付宝付款测试", 3), "支付宝");
        assert!(matches!(first_chars("abc", 3), Cow::Borrowed("abc")));
        assert_eq!(first_chars("abcd", 0), "");
    }

    #[test]
    fn suggests_a_near_word_only() {
        let providers = ["payjp", "pingpp", "justap", "worldpay", "google-standard-payments"];
        assert_eq!(closest("payjb", providers), Some("payjp"));
        assert_eq!(closest("WorldPay", providers), None, "the same word is no suggestion");
        assert_eq!(closest("wordlpay", providers), Some("worldpay"));
        assert_eq!(closest("stripe", providers), None);
        assert_eq!(closest("secret_kee", ["secret_key", "webhook_token"]), Some("secret_key"));
        assert_eq!(did_you_mean("x", ["payjp"]), "");
    }

    proptest! {
        #[test]
        fn is_the_first_characters(text in "\\PC{0,40}", chars in 0usize..45) {
            let expected: String = text.chars().take(chars).collect();
            let got = first_chars(&text, chars);
            prop_assert_eq!(got.as_ref(), expected.as_str());
        }
    }
}
