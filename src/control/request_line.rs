//! Request lines from a control client, each at most [`MAX_REQUEST_BYTES`] long.
//!
//! The socket takes bytes from any process of the user, and a line reader without a
//! bound keeps whatever arrives before a newline: 10 MB without one would sit in proj's
//! memory, unanswered. A request is a few hundred bytes (a list of names at most), so a
//! line past the bound is refused and the connection closed.

use std::io;

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// Far above any real request (thousands of instance names), far below harm.
pub const MAX_REQUEST_BYTES: usize = 1024 * 1024;

/// What the client sent next.
#[derive(Debug, PartialEq, Eq)]
pub enum Received {
    /// One line, without its newline (the last one may lack it).
    Line(String),
    /// More than [`MAX_REQUEST_BYTES`] without a newline.
    TooLong,
    /// The client hung up.
    End,
}

/// Reads request lines from `reader`. Cancel-safe: what a cancelled [`Self::next`] had
/// read stays for the next call, so it can wait in a `select!`.
pub struct RequestLines<R> {
    reader: R,
    partial: Vec<u8>,
}

impl<R: AsyncBufRead + Unpin> RequestLines<R> {
    pub fn new(reader: R) -> Self {
        RequestLines {
            reader,
            partial: Vec::new(),
        }
    }

    pub async fn next(&mut self) -> io::Result<Received> {
        loop {
            let available = self.reader.fill_buf().await?;
            if available.is_empty() {
                if self.partial.is_empty() {
                    return Ok(Received::End);
                }
                return Ok(self.take_line());
            }
            let (piece, complete) = match memchr::memchr(b'\n', available) {
                Some(end) => (&available[..end], true),
                None => (available, false),
            };
            if self.partial.len() + piece.len() > MAX_REQUEST_BYTES {
                self.partial = Vec::new();
                return Ok(Received::TooLong);
            }
            self.partial.extend_from_slice(piece);
            let used = piece.len() + usize::from(complete);
            self.reader.consume(used);
            if complete {
                return Ok(self.take_line());
            }
        }
    }

    /// The reader, once the connection carries something other than request lines (a
    /// terminal, after `connect`): what it buffered past the last line is still in it.
    /// Called right after a complete line, when nothing is held here.
    pub fn into_inner(self) -> R {
        self.reader
    }

    fn take_line(&mut self) -> Received {
        let bytes = std::mem::take(&mut self.partial);
        Received::Line(String::from_utf8_lossy(&bytes).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn all(input: &[u8]) -> Vec<Received> {
        let mut lines = RequestLines::new(input);
        let mut out = Vec::new();
        loop {
            let next = lines.next().await.unwrap();
            let end = matches!(next, Received::End | Received::TooLong);
            out.push(next);
            if end {
                return out;
            }
        }
    }

    fn line(text: &str) -> Received {
        Received::Line(text.to_string())
    }

    #[tokio::test]
    async fn lines_come_without_their_newline_and_a_last_one_without_it_counts() {
        assert_eq!(
            all(b"one\ntwo\n\nlast").await,
            vec![
                line("one"),
                line("two"),
                line(""),
                line("last"),
                Received::End
            ]
        );
    }

    #[tokio::test]
    async fn a_line_past_the_bound_is_too_long_and_nothing_of_it_is_kept() {
        let mut input = vec![b'x'; MAX_REQUEST_BYTES + 1];
        input.push(b'\n');
        assert_eq!(all(&input).await, vec![Received::TooLong]);
    }

    #[tokio::test]
    async fn a_line_of_exactly_the_bound_is_a_line() {
        let mut input = vec![b'x'; MAX_REQUEST_BYTES];
        input.push(b'\n');
        let received = all(&input).await;
        assert!(matches!(&received[0], Received::Line(text) if text.len() == MAX_REQUEST_BYTES));
    }
}
