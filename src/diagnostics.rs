//! proj's own diagnostics (`tracing`), off by default: `PROJ_LOG=debug` turns them on,
//! on stderr. They are for developers of proj; users read the messages under `proj`.

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_env("PROJ_LOG").unwrap_or_else(|_| EnvFilter::new("off"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
