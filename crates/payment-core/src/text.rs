//! Cutting text to what a provider's field or an error message takes.

use std::borrow::Cow;

/// At most `chars` characters of `text`: one slice at a character boundary, borrowed when the
/// text is short enough already.
pub fn first_chars(text: &str, chars: usize) -> Cow<'_, str> {
    match text.char_indices().nth(chars) {
        Some((end, _)) => Cow::Owned(text[..end].to_owned()),
        None => Cow::Borrowed(text),
    }
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

    proptest! {
        #[test]
        fn is_the_first_characters(text in "\\PC{0,40}", chars in 0usize..45) {
            let expected: String = text.chars().take(chars).collect();
            let got = first_chars(&text, chars);
            prop_assert_eq!(got.as_ref(), expected.as_str());
        }
    }
}
