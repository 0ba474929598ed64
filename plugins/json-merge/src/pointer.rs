//! JSON Pointer (RFC 6901) construction for conflict locations.
//!
//! A pointer is built one reference token at a time: `~` is written as `~0`
//! and `/` as `~1` (in that order, so that `~1` in a key becomes `~01`).

/// Appends `/` and the escaped `key` to `pointer`.
pub fn push_key(pointer: &mut String, key: &str) {
    pointer.push('/');
    for character in key.chars() {
        match character {
            '~' => pointer.push_str("~0"),
            '/' => pointer.push_str("~1"),
            other => pointer.push(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn child(parent: &str, key: &str) -> String {
        let mut pointer = parent.to_owned();
        push_key(&mut pointer, key);
        pointer
    }

    #[test]
    fn plain_keys_are_appended_as_they_are() {
        assert_eq!(child("", "foo"), "/foo");
        assert_eq!(child("/foo", "bar"), "/foo/bar");
        assert_eq!(child("", ""), "/");
        assert_eq!(child("", " "), "/ ");
        assert_eq!(child("", "c%d"), "/c%d");
    }

    #[test]
    fn tilde_and_slash_are_escaped_in_the_right_order() {
        assert_eq!(child("", "a/b"), "/a~1b");
        assert_eq!(child("", "m~n"), "/m~0n");
        // "~1" literally in a key must not turn back into "/" when decoded.
        assert_eq!(child("", "~1"), "/~01");
        assert_eq!(child("", "/~"), "/~1~0");
    }
}
