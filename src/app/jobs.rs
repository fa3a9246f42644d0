//! Every scheduled job, in one list: `retention:sweep`, `mirror:flush` and one
//! `refresh:<bucket>` per cache bucket (cadences from the Config tab). A new feature adds its jobs here.

use crate::cache::BucketId;
use crate::scheduler::JobSpec;

use super::{Boot, Services};

pub(super) fn all(boot: &Boot, services: &Services) -> Vec<JobSpec> {
    let mut jobs = vec![crate::ops::retention::job(
        services.store.clone(),
        services.config.clone(),
        boot.telemetry.clone(),
        boot.settings.data_dir.clone(),
    )];
    jobs.push(crate::placement::jobs::flush_job(
        services.store.clone(),
        services.config.clone(),
        services.cache.clone(),
        services.holds.clone(),
    ));
    jobs.push(crate::placement::jobs::autorelease_job(
        services.store.clone(),
        services.alerts.clone(),
        services.outbound.clone(),
        services.holds.clone(),
        services.cache.clone(),
    ));
    jobs.push(crate::placement::jobs::reminder_job(
        services.store.clone(),
        services.config.clone(),
        services.outbound.clone(),
    ));
    let cfg = services.config.get();
    for id in BucketId::ALL {
        jobs.push(crate::cache::refresh_job(
            services.cache.clone(),
            id,
            id.schedule(&cfg),
        ));
    }
    jobs
}
