//! The control protocol's request decoder, on what any local process may send: each line
//! of the input is one request. A refusal must carry a message and exit code 2.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for line in data.split(|&byte| byte == b'\n') {
        let line = String::from_utf8_lossy(line);
        if let Err(refusal) = proj::control::protocol::parse_request(&line) {
            let response: proj::control::protocol::Response = refusal.into();
            assert!(!response.ok);
        }
    }
});
