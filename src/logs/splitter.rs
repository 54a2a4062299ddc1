//! Cutting a byte stream into lines.
//!
//! Lines end at `\n`. A line longer than [`MAX_LINE`] bytes is cut into pieces of that
//! size, so memory per instance stays bounded whatever a process writes (a progress bar
//! without newlines, a binary blob). Bytes are never altered: output that is not UTF-8 is
//! kept as it is, and only the display decodes it lossily. The last partial line is held
//! back until its newline arrives or [`LineSplitter::finish`] is called at end-of-file.

/// The longest line kept in one piece (SPEC §5).
pub const MAX_LINE: usize = 64 * 1024;

#[derive(Debug, Default)]
pub struct LineSplitter {
    /// The start of a line whose newline has not arrived yet.
    partial: Vec<u8>,
}

impl LineSplitter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Append the complete lines in `partial + data` to `out`, each ending in `\n`, and
    /// keep the rest for later.
    pub fn push(&mut self, data: &[u8], out: &mut Vec<u8>) {
        let mut rest = data;
        while !rest.is_empty() {
            let room = MAX_LINE - self.partial.len();
            let window = &rest[..rest.len().min(room)];
            match memchr::memchr(b'\n', window) {
                Some(end) => {
                    out.extend_from_slice(&self.partial);
                    self.partial.clear();
                    // Everything up to the last newline in reach of the line limit goes
                    // out in one copy: the common case is many short lines per read.
                    let last = end + memchr::memrchr(b'\n', &rest[end..]).unwrap_or(0);
                    let whole = &rest[..=last];
                    if whole.len() <= MAX_LINE || !has_long_line(whole) {
                        out.extend_from_slice(whole);
                        rest = &rest[last + 1..];
                    } else {
                        out.extend_from_slice(&rest[..=end]);
                        rest = &rest[end + 1..];
                    }
                }
                None if window.len() == room => {
                    // The line reached the limit without a newline: cut it here.
                    out.extend_from_slice(&self.partial);
                    out.extend_from_slice(window);
                    out.push(b'\n');
                    self.partial.clear();
                    rest = &rest[window.len()..];
                }
                None => {
                    self.partial.extend_from_slice(window);
                    rest = &rest[window.len()..];
                }
            }
        }
    }

    /// End of input: the partial line, if any, becomes a line of its own.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.partial.is_empty() {
            out.extend_from_slice(&self.partial);
            out.push(b'\n');
            self.partial.clear();
        }
    }
}

/// A read buffer that cuts lines where they lie: each read lands right after the
/// partial line the previous one left, so a read's complete lines are usually one slice
/// of the buffer, handed on without a copy. Exactly what [`LineSplitter`] makes of the
/// same bytes; a run that holds a line of [`MAX_LINE`] bytes or more (rare) goes through
/// it.
///
/// Nothing is allocated until the first read, so an instance that never prints costs
/// no buffer.
#[derive(Debug)]
pub struct LineBuffer {
    /// `buffer[..held]` is the partial line, the read goes after it.
    buffer: Vec<u8>,
    held: usize,
    /// Bytes asked of the next read: doubled by each read that fills it, up to `max_read`.
    read_size: usize,
    max_read: usize,
    /// Where lines are assembled when they are not one slice of `buffer`.
    scratch: Vec<u8>,
}

impl LineBuffer {
    /// Reads of `first_read` bytes at first, growing to `max_read`.
    pub fn new(first_read: usize, max_read: usize) -> LineBuffer {
        LineBuffer {
            buffer: Vec::new(),
            held: 0,
            read_size: first_read,
            max_read,
            scratch: Vec::new(),
        }
    }

    /// Where the next read goes.
    pub fn spare(&mut self) -> &mut [u8] {
        let wanted = self.held + self.read_size;
        if self.buffer.len() < wanted {
            self.buffer.resize(wanted, 0);
        }
        &mut self.buffer[self.held..]
    }

    /// The `read` bytes that just arrived in [`LineBuffer::spare`].
    pub fn arrived(&self, read: usize) -> &[u8] {
        &self.buffer[self.held..self.held + read]
    }

    /// `read` bytes arrived in [`LineBuffer::spare`]: hand the complete lines (each
    /// ending in `\n`) to `deliver`, if there are any, and keep the rest.
    pub fn filled(&mut self, read: usize, deliver: impl FnOnce(&[u8])) {
        if read >= self.read_size && self.read_size < self.max_read {
            self.read_size = (self.read_size * 2).min(self.max_read);
        }
        let end = self.held + read;
        let data = &self.buffer[..end];
        let fast = match memchr::memrchr(b'\n', data) {
            // No line end yet: all of it waits, unless it reached the limit.
            None if end < MAX_LINE => {
                self.held = end;
                return;
            }
            None => None,
            Some(last) if end - last - 1 < MAX_LINE && all_shorter_than_limit(&data[..=last]) => {
                Some(last)
            }
            Some(_) => None,
        };
        match fast {
            Some(last) => {
                deliver(&data[..=last]);
                self.buffer.copy_within(last + 1..end, 0);
                self.held = end - last - 1;
            }
            None => {
                let mut splitter = LineSplitter {
                    partial: self.buffer[..self.held].to_vec(),
                };
                self.scratch.clear();
                splitter.push(&self.buffer[self.held..end], &mut self.scratch);
                if !self.scratch.is_empty() {
                    deliver(&self.scratch);
                }
                self.held = splitter.partial.len();
                self.buffer[..self.held].copy_from_slice(&splitter.partial);
            }
        }
    }

    /// End of input: the partial line, if any, as a line of its own.
    pub fn finish(&mut self, deliver: impl FnOnce(&[u8])) {
        if self.held == 0 {
            return;
        }
        self.scratch.clear();
        self.scratch.extend_from_slice(&self.buffer[..self.held]);
        self.scratch.push(b'\n');
        self.held = 0;
        deliver(&self.scratch);
    }
}

/// Whether every line of a run of complete lines is shorter than [`MAX_LINE`] (then
/// [`LineSplitter`] would pass the run through as it is). One look per [`MAX_LINE`]
/// bytes: the last newline in reach of the line start, found from the window's end.
fn all_shorter_than_limit(lines: &[u8]) -> bool {
    let mut start = 0;
    while start < lines.len() {
        let window = &lines[start..lines.len().min(start + MAX_LINE)];
        match memchr::memrchr(b'\n', window) {
            Some(last) => start += last + 1,
            None => return false,
        }
    }
    true
}

/// Whether a run of complete lines holds one longer than [`MAX_LINE`] (newline included
/// in the count is fine: the limit is on content).
fn has_long_line(lines: &[u8]) -> bool {
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', lines) {
        if end - start > MAX_LINE {
            return true;
        }
        start = end + 1;
    }
    false
}

/// The lines of a buffer produced by [`LineSplitter`], without their newlines (a last
/// line without one counts too).
pub fn lines(buffer: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut start = 0;
    let mut ends = memchr::memchr_iter(b'\n', buffer);
    std::iter::from_fn(move || {
        let end = ends
            .next()
            .or_else(|| (start < buffer.len()).then_some(buffer.len()))?;
        let line = &buffer[start..end];
        start = end + 1;
        Some(line)
    })
}

/// Make every `\r\n` in complete lines from [`LineSplitter`] a plain `\n` (a terminal's
/// line end), in place. A `\r` elsewhere (a progress bar redrawing its line) stays.
pub fn fold_crlf(lines: &mut Vec<u8>) {
    let mut kept = 0;
    for index in 0..lines.len() {
        let byte = lines[index];
        if byte == b'\r' && lines.get(index + 1) == Some(&b'\n') {
            continue;
        }
        lines[kept] = byte;
        kept += 1;
    }
    lines.truncate(kept);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut splitter = LineSplitter::new();
        let mut out = Vec::new();
        for chunk in chunks {
            splitter.push(chunk, &mut out);
        }
        splitter.finish(&mut out);
        lines(&out).map(<[u8]>::to_vec).collect()
    }

    #[test]
    fn whole_lines_pass_through() {
        assert_eq!(split(&[b"a\nbb\n"]), vec![b"a".to_vec(), b"bb".to_vec()]);
    }

    #[test]
    fn a_line_across_reads_is_joined() {
        assert_eq!(
            split(&[b"hel", b"lo\nwor", b"ld\n"]),
            vec![b"hello".to_vec(), b"world".to_vec()]
        );
    }

    #[test]
    fn the_final_partial_line_is_kept_at_end_of_input() {
        assert_eq!(
            split(&[b"one\ntw", b"o"]),
            vec![b"one".to_vec(), b"two".to_vec()]
        );
    }

    #[test]
    fn nothing_in_nothing_out() {
        assert!(split(&[]).is_empty());
        assert!(split(&[b""]).is_empty());
    }

    #[test]
    fn empty_lines_are_lines() {
        assert_eq!(
            split(&[b"\n\nx\n"]),
            vec![b"".to_vec(), b"".to_vec(), b"x".to_vec()]
        );
    }

    #[test]
    fn a_line_over_the_limit_is_cut_into_pieces() {
        let long = vec![b'x'; MAX_LINE * 2 + 10];
        let mut input = long.clone();
        input.extend_from_slice(b"\nafter\n");
        let got = split(&[&input]);
        assert_eq!(got.len(), 4);
        assert_eq!(got[0].len(), MAX_LINE);
        assert_eq!(got[1].len(), MAX_LINE);
        assert_eq!(got[2].len(), 10);
        assert_eq!(got[3], b"after");
    }

    #[test]
    fn a_long_line_arriving_in_small_reads_is_cut_too() {
        let chunk = vec![b'y'; 1000];
        let chunks: Vec<&[u8]> = std::iter::repeat_n(chunk.as_slice(), 70).collect();
        let got = split(&chunks);
        assert_eq!(got[0].len(), MAX_LINE);
        assert_eq!(got[1].len(), 70_000 - MAX_LINE);
    }

    #[test]
    fn a_long_line_between_short_ones_in_one_read() {
        let mut input = b"short\n".to_vec();
        input.extend(vec![b'z'; MAX_LINE + 1]);
        input.extend_from_slice(b"\nend\n");
        let got = split(&[&input]);
        let lengths: Vec<usize> = got.iter().map(Vec::len).collect();
        assert_eq!(lengths, vec![5, MAX_LINE, 1, 3]);
    }

    #[test]
    fn lines_of_a_buffer_without_a_final_newline() {
        let got: Vec<&[u8]> = lines(b"a\n\nb").collect();
        assert_eq!(got, vec![&b"a"[..], b"", b"b"]);
        assert_eq!(lines(b"").count(), 0);
        assert_eq!(lines(b"\n").collect::<Vec<_>>(), vec![&b""[..]]);
    }

    #[test]
    fn a_terminal_line_end_is_one_line_end() {
        let mut splitter = LineSplitter::new();
        let mut out = Vec::new();
        // The CR of a CR LF may arrive at the end of one read, the LF in the next.
        splitter.push(b"one\r\ntwo\r", &mut out);
        splitter.push(b"\n50%\r100%\r\n", &mut out);
        fold_crlf(&mut out);
        assert_eq!(out, b"one\ntwo\n50%\r100%\n");
    }

    /// What [`LineBuffer`] makes of `chunks` read one after another.
    fn split_in_place(chunks: &[&[u8]]) -> Vec<u8> {
        let mut buffer = LineBuffer::new(4, 1 << 20);
        let mut out = Vec::new();
        for chunk in chunks {
            let mut rest: &[u8] = chunk;
            while !rest.is_empty() {
                let spare = buffer.spare();
                let read = spare.len().min(rest.len());
                spare[..read].copy_from_slice(&rest[..read]);
                rest = &rest[read..];
                buffer.filled(read, |lines| out.extend_from_slice(lines));
            }
        }
        buffer.finish(|lines| out.extend_from_slice(lines));
        out
    }

    fn split_whole(chunks: &[&[u8]]) -> Vec<u8> {
        let mut splitter = LineSplitter::new();
        let mut out = Vec::new();
        for chunk in chunks {
            splitter.push(chunk, &mut out);
        }
        splitter.finish(&mut out);
        out
    }

    #[test]
    fn reading_in_place_cuts_as_the_splitter_does() {
        let long = vec![b'x'; MAX_LINE * 2 + 10];
        let exact = vec![b'e'; MAX_LINE];
        let below = vec![b'b'; MAX_LINE - 1];
        let mut mixed = b"short\n".to_vec();
        mixed.extend_from_slice(&long);
        mixed.extend_from_slice(b"\nend\npart");
        let cases: Vec<Vec<&[u8]>> = vec![
            vec![b"a\nbb\n"],
            vec![b"hel", b"lo\nwor", b"ld\n"],
            vec![b"one\ntw", b"o"],
            vec![b"\n\nx\n"],
            vec![&long, b"\nafter\n"],
            vec![&mixed],
            vec![&exact, b"\n", &below, b"\nz\n"],
            vec![&below, b"\n", &exact],
            vec![b"\xff\xfe ok\n"],
            vec![],
        ];
        for chunks in cases {
            assert_eq!(split_in_place(&chunks), split_whole(&chunks));
        }
    }

    #[test]
    fn nothing_is_allocated_before_the_first_read() {
        let buffer = LineBuffer::new(4096, 1 << 18);
        assert_eq!(buffer.buffer.capacity(), 0);
    }

    #[test]
    fn bytes_that_are_not_utf8_are_kept() {
        assert_eq!(split(&[b"\xff\xfe ok\n"]), vec![b"\xff\xfe ok".to_vec()]);
    }
}
