//! Terminal queries taken out of replayed output (SPEC §9.5, `proj connect`).
//!
//! A line editor asks the terminal about itself: Reline (irb, `binding.irb`) and
//! prompt_toolkit ask where the cursor is (`ESC [ 6 n`), others ask for the device's
//! attributes (`ESC [ c`, `ESC [ > c`), its status, its colours (`ESC ] 11 ; ? BEL`),
//! its keyboard protocol (`ESC [ ? u`) or its capabilities (`ESC P + q … ESC \`). A
//! terminal answers each by *typing* the answer. Output written while nobody was
//! connected is replayed when someone connects; replayed as it was, each old question
//! would be answered again, into the program's input line (`^[[36;1R`). So the replay
//! leaves them out; live output keeps them, since the program waits for those answers.

/// `bytes` without the terminal queries that the program has moved on from; everything
/// else as it was.
///
/// A query followed by more output was given up on (Reline waits half a second, then
/// draws its prompt), and its answer would now be typed into the program. A query at
/// the very end, with nothing after it, is one the program still waits for (`irb`
/// started with nobody connected asks where the cursor is and waits): it is kept, so
/// the terminal that connects answers it and the program goes on.
pub(super) fn without_queries(bytes: &[u8]) -> Vec<u8> {
    let mut pieces: Vec<(&[u8], bool)> = Vec::new();
    let mut i = 0;
    let mut plain_start = 0;
    while i < bytes.len() {
        match query_length(&bytes[i..]) {
            Some(length) => {
                if plain_start < i {
                    pieces.push((&bytes[plain_start..i], false));
                }
                pieces.push((&bytes[i..i + length], true));
                i += length;
                plain_start = i;
            }
            None => i += 1,
        }
    }
    if plain_start < bytes.len() {
        pieces.push((&bytes[plain_start..], false));
    }
    // Queries after the last piece of output are still waited for.
    let last_output = pieces.iter().rposition(|(_, query)| !query);
    let mut out = Vec::with_capacity(bytes.len());
    for (index, (piece, query)) in pieces.iter().enumerate() {
        let pending = last_output.is_none_or(|last| index > last);
        if !query || pending {
            out.extend_from_slice(piece);
        }
    }
    out
}

/// The length of the terminal query `bytes` starts with, if it starts with one.
fn query_length(bytes: &[u8]) -> Option<usize> {
    const ESC: u8 = 0x1b;
    if bytes.first() != Some(&ESC) {
        return None;
    }
    match bytes.get(1)? {
        b'[' => csi_query(bytes),
        b']' => osc_query(bytes),
        b'P' => dcs_query(bytes),
        // DECID, the VT52-era "identify": answered like device attributes.
        b'Z' => Some(2),
        _ => None,
    }
}

/// `ESC [ params final` where the sequence asks rather than tells: device status
/// (`n`: `5n`, `6n`, `?6n`), device attributes (`c`, `>c`, `=c`), window reports
/// (`t` with 11, 13, 14, 16, 18, 19, 21), a mode's state (`$p`), the keyboard protocol
/// (`?u`).
fn csi_query(bytes: &[u8]) -> Option<usize> {
    let body_start = 2;
    let mut end = body_start;
    while end < bytes.len() && !(0x40..=0x7e).contains(&bytes[end]) {
        // Parameters and intermediates only (0x20–0x3f); anything else is no CSI.
        if !(0x20..=0x3f).contains(&bytes[end]) {
            return None;
        }
        end += 1;
    }
    let final_byte = *bytes.get(end)?;
    let params = &bytes[body_start..end];
    let asks = match final_byte {
        b'n' => matches!(
            params,
            b"5" | b"6" | b"?6" | b"?15" | b"?25" | b"?26" | b"?53"
        ),
        b'c' => matches!(params, b"" | b"0" | b">" | b">0" | b"=" | b"=0"),
        b't' => matches!(
            params,
            b"11" | b"13" | b"14" | b"15" | b"16" | b"18" | b"19" | b"20" | b"21"
        ),
        b'p' => params.ends_with(b"$"),
        b'u' => params == b"?",
        _ => false,
    };
    asks.then_some(end + 1)
}

/// `ESC ] Ps ; ? ST`: a colour or other setting asked for (the `?` is the question),
/// ended by BEL or `ESC \`.
fn osc_query(bytes: &[u8]) -> Option<usize> {
    let (body, length) = string_body(bytes)?;
    body.split(|&b| b == b';')
        .skip(1)
        .any(|field| field == b"?")
        .then_some(length)
}

/// `ESC P + q … ST` (XTGETTCAP) and `ESC P $ q … ST` (DECRQSS): requests.
fn dcs_query(bytes: &[u8]) -> Option<usize> {
    let (body, length) = string_body(bytes)?;
    (body.starts_with(b"+q") || body.starts_with(b"$q")).then_some(length)
}

/// The body of a string sequence (`ESC ] …`, `ESC P …`) and the sequence's whole
/// length, up to BEL or `ESC \`; `None` when it is not ended within the bytes.
fn string_body(bytes: &[u8]) -> Option<(&[u8], usize)> {
    let body = &bytes[2..];
    let end = body
        .iter()
        .enumerate()
        .find(|&(i, &b)| b == 0x07 || (b == 0x1b && body.get(i + 1) == Some(&b'\\')))?
        .0;
    let terminator = if body[end] == 0x07 { 1 } else { 2 };
    Some((&body[..end], 2 + end + terminator))
}

#[cfg(test)]
mod tests {
    use super::without_queries;

    #[test]
    fn queries_are_taken_out() {
        let cases: [(&[u8], &[u8]); 8] = [
            (b"irb(main):001> \x1b[6nprompt", b"irb(main):001> prompt"),
            (b"a\x1b[cb\x1b[>cc\x1b[0c.", b"abc."),
            (b"x\x1b]11;?\x07y\x1b]10;?\x1b\\z", b"xyz"),
            (b"\x1bP+q544e\x1b\\ok", b"ok"),
            (b"\x1b[?u\x1b[5n\x1b[?2004$p.", b"."),
            (b"\x1b[14t\x1b[18t!", b"!"),
            (b"\x1bZ?", b"?"),
            (b"\x1b[?6n.", b"."),
        ];
        for (input, expected) in cases {
            assert_eq!(
                without_queries(input),
                expected,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn a_query_still_waited_for_is_kept() {
        // Nothing after it: the program waits for the answer (irb at its start).
        assert_eq!(without_queries(b"hello\r\n\x1b[6n"), b"hello\r\n\x1b[6n");
        assert_eq!(without_queries(b"\x1b[6n"), b"\x1b[6n");
        // Only the trailing ones: an earlier, given-up query goes.
        assert_eq!(
            without_queries(b"\x1b[6n> \x1b[c\x1b[6n"),
            b"> \x1b[c\x1b[6n"
        );
    }

    #[test]
    fn what_draws_is_kept() {
        for kept in [
            &b"\x1b[1;32mgreen\x1b[0m"[..],
            b"\x1b[2J\x1b[H\x1b[36;1H",
            b"\x1b]0;title\x07",
            b"\x1b[?2004h\x1b[?25l",
            b"\x1b[8;24;80t",
            b"(Pdb) \r\n",
            b"\x1b[",
            b"\x1b]11;?",
        ] {
            assert_eq!(
                without_queries(kept),
                kept,
                "{:?}",
                String::from_utf8_lossy(kept)
            );
        }
    }
}
