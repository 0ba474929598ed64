//! JSON Pointer (RFC 6901) construction.
//!
//! A pointer is built one reference token at a time: `~` is written as `~0`
//! and `/` as `~1` (in that order, so that `~1` in a key becomes `~01`).

use std::borrow::Cow;
use std::fmt::Write as _;

/// Escapes one reference token per RFC 6901 section 3: `~` → `~0`, `/` → `~1`.
///
/// Borrows the token when it needs no escaping.
#[must_use]
pub fn escape_token(token: &str) -> Cow<'_, str> {
    if token.contains(['~', '/']) {
        Cow::Owned(token.replace('~', "~0").replace('/', "~1"))
    } else {
        Cow::Borrowed(token)
    }
}

/// Appends `/` and the escaped `key` to `pointer`.
pub fn push_key(pointer: &mut String, key: &str) {
    pointer.push('/');
    pointer.push_str(&escape_token(key));
}

/// Appends `/` and the decimal array `index` to `pointer`.
pub fn push_index(pointer: &mut String, index: usize) {
    // Writing to a String cannot fail.
    let _ = write!(pointer, "/{index}");
}

/// Builds the pointer for `key` under the object at `parent`.
#[must_use]
pub fn child_key(parent: &str, key: &str) -> String {
    let mut pointer = String::with_capacity(parent.len() + key.len() + 1);
    pointer.push_str(parent);
    push_key(&mut pointer, key);
    pointer
}

/// Builds the pointer for `index` under the array at `parent`.
#[must_use]
pub fn child_index(parent: &str, index: usize) -> String {
    let mut pointer = String::with_capacity(parent.len() + 8);
    pointer.push_str(parent);
    push_index(&mut pointer, index);
    pointer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_tokens_are_borrowed() {
        assert!(matches!(escape_token("abc"), Cow::Borrowed("abc")));
        assert_eq!(escape_token(""), "");
    }

    #[test]
    fn tilde_and_slash_are_escaped_in_the_right_order() {
        assert_eq!(escape_token("a/b"), "a~1b");
        assert_eq!(escape_token("m~n"), "m~0n");
        // "~1" literally in a key must not turn back into "/" when decoded.
        assert_eq!(escape_token("~1"), "~01");
        assert_eq!(escape_token("/~"), "~1~0");
    }

    #[test]
    fn rfc_6901_examples() {
        // RFC 6901 section 5: the keys of its example document.
        assert_eq!(child_key("", "foo"), "/foo");
        assert_eq!(child_key("", ""), "/");
        assert_eq!(child_key("", "a/b"), "/a~1b");
        assert_eq!(child_key("", "c%d"), "/c%d");
        assert_eq!(child_key("", "i\\j"), "/i\\j");
        assert_eq!(child_key("", "k\"l"), "/k\"l");
        assert_eq!(child_key("", " "), "/ ");
        assert_eq!(child_key("", "m~n"), "/m~0n");
        assert_eq!(child_index(&child_key("", "foo"), 0), "/foo/0");
    }
}
