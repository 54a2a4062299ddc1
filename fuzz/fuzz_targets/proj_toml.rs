//! proj.toml from a stranger: the reader and the whole validation into a Plan, then the
//! rendering of every diagnostic. Nothing may panic, hang or allocate without bound.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    // A directory that does not exist: `cwd` and env files are looked up relative to it
    // and found missing, so the input cannot make the target read the machine's files.
    let path = Path::new("/nonexistent/proj-fuzz/proj.toml");
    match proj::config::load_str(path, text) {
        Ok(plan) => {
            let _ = plan.instances().count();
        }
        Err(error) => {
            let _ = error.render(false);
        }
    }
});
