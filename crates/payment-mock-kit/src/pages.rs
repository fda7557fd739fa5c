//! Cursor pages over a newest-first list, as the APIs that page like Stripe's do (Ping++, Justap):
//! `starting_after` (the items older than an id), `ending_before` (those just newer than an id),
//! `limit`, and whether more lie beyond the page.

/// The page of `all` (newest first) that `starting_after` / `ending_before` and `limit` ask for,
/// and whether more items lie beyond it in the direction walked. `Err` carries a cursor id the
/// list does not hold, for the mock to answer with its own "no such object" error.
pub fn cursor_page<'a, T>(
    all: &'a [T],
    id: impl Fn(&T) -> &str,
    starting_after: Option<&str>,
    ending_before: Option<&str>,
    limit: usize,
) -> Result<(&'a [T], bool), String> {
    let position = |cursor: &str| all.iter().position(|item| id(item) == cursor).ok_or_else(|| cursor.to_owned());
    match (starting_after, ending_before) {
        (Some(after), _) => {
            let start = position(after)? + 1;
            let end = start.saturating_add(limit).min(all.len());
            Ok((&all[start..end], end < all.len()))
        }
        (None, Some(before)) => {
            // The items just newer than `before`, still newest first.
            let end = position(before)?;
            let start = end.saturating_sub(limit);
            Ok((&all[start..end], start > 0))
        }
        (None, None) => {
            let end = limit.min(all.len());
            Ok((&all[..end], all.len() > limit))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(after: Option<&str>, before: Option<&str>, limit: usize) -> Result<(Vec<&'static str>, bool), String> {
        const ALL: [&str; 5] = ["e", "d", "c", "b", "a"];
        cursor_page(&ALL, |s| s, after, before, limit).map(|(p, more)| (p.to_vec(), more))
    }

    #[test]
    fn walks_both_ways_and_names_an_unknown_cursor() {
        assert_eq!(page(None, None, 2), Ok((vec!["e", "d"], true)));
        assert_eq!(page(None, None, 5), Ok((vec!["e", "d", "c", "b", "a"], false)));
        assert_eq!(page(Some("d"), None, 2), Ok((vec!["c", "b"], true)));
        assert_eq!(page(Some("b"), None, 2), Ok((vec!["a"], false)));
        assert_eq!(page(Some("a"), None, 2), Ok((vec![], false)));
        assert_eq!(page(None, Some("b"), 2), Ok((vec!["d", "c"], true)));
        assert_eq!(page(None, Some("d"), 2), Ok((vec!["e"], false)));
        assert_eq!(page(Some("zz"), None, 2), Err("zz".to_owned()));
        assert_eq!(page(None, Some("zz"), 2), Err("zz".to_owned()));
        assert_eq!(page(Some("e"), None, usize::MAX), Ok((vec!["d", "c", "b", "a"], false)));
    }
}
