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
            assert!(span.start <= span.end && span.end <= text.len(), "{span:?}");
        }
    }
});
