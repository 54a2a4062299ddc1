//! A Procfile from a stranger: read and validated into a Plan, diagnostics rendered.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let path = Path::new("/nonexistent/proj-fuzz/Procfile");
    match proj::config::load_str(path, text) {
        Ok(plan) => {
            let _ = plan.instances().count();
        }
        Err(error) => {
            let _ = error.render(false);
        }
    }
});
