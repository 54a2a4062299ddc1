//! `state` → a StatefulSet (SPEC §9.6): one volumeClaimTemplate per directory, mounted
//! where the directory is in the image, so each pod keeps its own data across restarts,
//! rescheduling and rolling updates. A StatefulSet needs a headless Service to name its
//! pods; the process's Service is that one (`clusterIP: None`: its name still resolves,
//! to the ready pods' addresses).

use std::path::Path;

use crate::config::ProcessSpec;

use super::super::names::dns_label;
use super::Context;
use super::objects::*;

/// The size each claim asks for: proj.toml has no size, and most clusters' default
/// StorageClass grows a volume only when asked; a note says to change it.
pub(super) const CLAIM_SIZE: &str = "1Gi";

/// A claim's name for a state directory: `var/postgres` → `var-postgres`.
pub(super) fn claim_name(directory: &Path) -> String {
    dns_label(&directory.to_string_lossy())
}

/// Where each of `process`'s state directories is mounted.
pub(super) fn mounts(context: &Context, process: &ProcessSpec) -> Vec<VolumeMount> {
    process
        .state
        .iter()
        .map(|directory| VolumeMount {
            name: claim_name(directory),
            mount_path: super::super::image_path(
                &context.options.workdir,
                &context.plan.root,
                &context.plan.root.join(directory),
            ),
        })
        .collect()
}

/// One claim template per state directory.
pub(super) fn claims(process: &ProcessSpec) -> Vec<PersistentVolumeClaim> {
    process
        .state
        .iter()
        .map(|directory| PersistentVolumeClaim {
            metadata: ClaimMeta {
                name: claim_name(directory),
            },
            spec: ClaimSpec {
                access_modes: vec!["ReadWriteOnce"],
                resources: ClaimResources {
                    requests: [("storage", CLAIM_SIZE.to_owned())].into_iter().collect(),
                },
            },
        })
        .collect()
}
