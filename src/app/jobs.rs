//! Every scheduled job, in one list: `retention:sweep`, `mirror:flush` (every feature's
//! sheet mirror), the reservations' jobs and one
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
    let mirrors: Vec<std::sync::Arc<dyn crate::sheets::outbox::Mirror>> = vec![
        std::sync::Arc::new(crate::placement::mirror::ReservationsMirror {
            store: services.store.clone(),
        }),
        std::sync::Arc::new(crate::onboarding::mirror::OnboardingMirror {
            store: services.store.clone(),
        }),
    ];
    let holds = services.holds.clone();
    let config = services.config.clone();
    jobs.push(crate::sheets::outbox::flush_job(
        services.store.clone(),
        services.cache.sources().clone(),
        std::sync::Arc::new(move || config.get().tabs.clone()),
        mirrors,
        std::sync::Arc::new(move || {
            let holds = holds.clone();
            Box::pin(async move {
                // The outbox changed: the `mirror` health component shows it.
                if let Err(e) = holds.reload().await {
                    tracing::warn!(error = %e, "could not re-read the outbox after a flush");
                }
            })
        }),
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
    jobs.push(crate::recruitment::jobs::report_job(
        services
            .outbound
            .clone()
            .map(|outbound| crate::recruitment::jobs::ReportSink {
                store: services.store.clone(),
                config: services.config.clone(),
                cache: services.cache.clone(),
                outbound,
            }),
        services.config.clone(),
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
