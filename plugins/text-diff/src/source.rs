//! Where the texts come from: anything that knows its size and can hand out
//! the bytes of a range, so a diff never needs a whole text in memory.

/// A text read by offset: a file, an in-memory buffer or a host input.
///
/// `E` is the error a read can fail with; the diff passes it through untouched.
pub trait Source<E> {
    /// The size of the text in bytes.
    fn size(&self) -> u64;

    /// Reads `len` bytes from `offset`. A read that reaches past the end gives
    /// the bytes up to the end; the diff treats any short read as an error.
    ///
    /// # Errors
    ///
    /// Whatever the underlying store fails with.
    fn read_at(&self, offset: u64, len: usize) -> Result<Vec<u8>, E>;
}

impl<E> Source<E> for [u8] {
    fn size(&self) -> u64 {
        self.len() as u64
    }

    fn read_at(&self, offset: u64, len: usize) -> Result<Vec<u8>, E> {
        let start = usize::try_from(offset).map_or(self.len(), |start| start.min(self.len()));
        let end = start.saturating_add(len).min(self.len());
        Ok(self[start..end].to_vec())
    }
}

impl<E> Source<E> for Vec<u8> {
    fn size(&self) -> u64 {
        <[u8] as Source<E>>::size(self)
    }

    fn read_at(&self, offset: u64, len: usize) -> Result<Vec<u8>, E> {
        <[u8] as Source<E>>::read_at(self, offset, len)
    }
}

impl<E, S: Source<E> + ?Sized> Source<E> for &S {
    fn size(&self) -> u64 {
        (**self).size()
    }

    fn read_at(&self, offset: u64, len: usize) -> Result<Vec<u8>, E> {
        (**self).read_at(offset, len)
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use super::Source;

    fn read(source: &[u8], offset: u64, len: usize) -> Vec<u8> {
        let result: Result<_, Infallible> = source.read_at(offset, len);
        result.unwrap_or_else(|never| match never {})
    }

    #[test]
    fn slices_read_ranges_and_stop_at_the_end() {
        let text = b"hello\nworld\n".as_slice();
        assert_eq!(Source::<Infallible>::size(&text), 12);
        assert_eq!(read(text, 6, 5), b"world");
        assert_eq!(read(text, 10, 100), b"d\n");
        assert_eq!(read(text, 12, 1), b"");
        assert_eq!(read(text, u64::MAX, usize::MAX), b"");
    }
}
