//! The line splitter on any bytes, fed in pieces: the first input byte chooses the piece
//! size. Every byte comes out unchanged and in order, every line ends in `\n` and holds at
//! most MAX_LINE bytes, and what is held back never exceeds one line. The reader's
//! `LineBuffer`, fed the same pieces as reads, cuts exactly as the splitter does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proj::logs::splitter::{LineBuffer, LineSplitter, MAX_LINE, lines};

fuzz_target!(|data: &[u8]| {
    let Some((&piece, data)) = data.split_first() else {
        return;
    };
    let piece = usize::from(piece).max(1) * 97;
    let mut splitter = LineSplitter::new();
    let mut out = Vec::new();
    for chunk in data.chunks(piece) {
        splitter.push(chunk, &mut out);
    }
    splitter.finish(&mut out);
    // The same pieces as reads into the reader's buffer (reads as large as the pieces).
    let mut buffer = LineBuffer::new(piece, piece);
    let mut buffered = Vec::new();
    for chunk in data.chunks(piece) {
        buffer.spare()[..chunk.len()].copy_from_slice(chunk);
        buffer.filled(chunk.len(), |lines| buffered.extend_from_slice(lines));
    }
    buffer.finish(|lines| buffered.extend_from_slice(lines));
    assert_eq!(buffered, out, "LineBuffer cuts as LineSplitter does");
    assert!(out.is_empty() || out.ends_with(b"\n"));
    let mut rebuilt = Vec::with_capacity(data.len());
    for line in lines(&out) {
        assert!(line.len() <= MAX_LINE, "a line of {} bytes", line.len());
        rebuilt.extend_from_slice(line);
    }
    // Cut lines gain a newline proj inserted; without them, the input comes back.
    let original: Vec<u8> = data.iter().copied().filter(|&byte| byte != b'\n').collect();
    assert_eq!(rebuilt, original);
});
