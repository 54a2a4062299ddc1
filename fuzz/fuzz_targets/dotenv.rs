//! A `.env` file from a stranger. Once `${NAME:-default}` interpolation is merged, this
//! target covers it too (it goes through the same parser).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    match proj::config::parse_env_text(text) {
        Ok(env) => {
            let _ = env.len();
        }
        Err(span) => {
            // A problem at the end of the text points just past it (the caret after
            // the last character), so only the start must lie within.
            assert!(span.start <= span.end && span.start <= text.len(), "{span:?}");
        }
    }
});
