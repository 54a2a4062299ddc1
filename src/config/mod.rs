//! Reading a project's configuration: `proj.toml` (or a `Procfile` + `.env`) into a [`Plan`].

pub mod plan;

pub use plan::*;
