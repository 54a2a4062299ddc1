//! The part of the Compose Specification the export writes, as serde types. The tests
//! validate the output against the specification's JSON schema.

use std::collections::BTreeMap;

use serde::Serialize;

/// No top-level `name`: Debian's docker-compose (1.29) refuses it; the header says to
/// pass `-p PROJECT`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ComposeFile {
    pub services: BTreeMap<String, Service>,
    /// The named volumes of the `state` directories.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub volumes: BTreeMap<String, Volume>,
}

/// A named volume with the engine's defaults (`{}`).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Volume {}

/// A lifecycle hook (Compose Specification; Docker Compose 2.30 and later).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Hook {
    pub command: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Service {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build: Option<String>,
    pub command: Vec<String>,
    pub working_dir: String,
    /// The env files that exist at export (Compose refuses a missing one, proj skips it).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env_file: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub environment: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub depends_on: BTreeMap<String, Dependency>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<Healthcheck>,
    pub restart: &'static str,
    pub stop_signal: String,
    pub stop_grace_period: String,
    /// The steps of a stop sequence before the last signal.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pre_stop: Vec<Hook>,
    /// `NAME:PATH`: the `state` directories.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub tty: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stdin_open: bool,
    pub deploy: Deploy,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Dependency {
    pub condition: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Healthcheck {
    pub test: Vec<String>,
    pub interval: String,
    pub timeout: String,
    pub retries: u32,
    pub start_period: String,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Deploy {
    pub replicas: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Resources {
    pub limits: Limits,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Limits {
    /// `512m`, or bytes (`1000000b`).
    pub memory: String,
}
