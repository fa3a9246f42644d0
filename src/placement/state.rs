//! What the placement feature keeps in memory, rebuilt from the store: the active holds
//! per clan (laid over every Clans refresh, so the cache shows the ledger's availability
//! even while the sheet's cells wait in the outbox), and the outbox's depth (the `mirror`
//! health component). Both are refreshed after every change and every flush.

use std::collections::BTreeMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use chrono::{DateTime, Utc};

use super::availability;
use super::ledger;
use crate::cache::ClansOverlay;
use crate::runtime::{ComponentCheck, ComponentHealth, Level};
use crate::sheets::outbox::{self, Depth};
use crate::store::{Store, StoreError};
use crate::tabs::clans::ClanList;

/// Queued sheet writes older than this make the mirror `degraded`.
const STALE_AFTER_MIN: i64 = 10;

pub(crate) struct Holds {
    store: Store,
    /// Upper-cased tag → the names of its active holds, oldest first.
    by_clan: ArcSwap<BTreeMap<String, Vec<String>>>,
    depth: ArcSwap<Depth>,
}

impl Holds {
    /// Reads the active holds and the outbox again.
    pub(crate) async fn reload(&self) -> Result<(), StoreError> {
        let (active, depth) = self
            .store
            .read(|c| Ok((ledger::all_active(c)?, outbox::depth(c)?)))
            .await?;
        let mut by_clan: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in active {
            by_clan
                .entry(r.clan_tag.to_ascii_uppercase())
                .or_default()
                .push(r.username_snapshot);
        }
        self.by_clan.store(Arc::new(by_clan));
        self.depth.store(Arc::new(depth));
        Ok(())
    }

    pub(crate) async fn load(store: Store) -> Arc<Holds> {
        let h = Arc::new(Holds {
            store,
            by_clan: Default::default(),
            depth: Default::default(),
        });
        if let Err(e) = h.reload().await {
            tracing::error!(error = %e, "cannot read the reservations; availability shows the sheet's cells until the next change");
        }
        h
    }
}

impl ClansOverlay for Holds {
    fn apply(&self, list: &mut ClanList) {
        let by_clan = self.by_clan.load();
        for c in &mut list.clans {
            // Tags in the list are already upper case (`normalize_tag`).
            let names = by_clan
                .get(c.tag.as_str())
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            let a = availability::compute(c.spots, names, 0);
            c.open_spots = Some(a.open_spots);
            c.reserved = Some(a.reserved);
            c.reserved_by = a.reserved_by;
        }
    }
}

impl ComponentCheck for Holds {
    fn name(&self) -> &'static str {
        "mirror"
    }

    fn check(&self) -> ComponentHealth {
        let d = self.depth.load();
        let now = self.store.now();
        let oldest = d
            .oldest
            .as_deref()
            .and_then(|o| DateTime::parse_from_rfc3339(o).ok())
            .map(|o| (now - o.with_timezone(&Utc)).num_seconds().max(0));
        let stale = oldest.is_some_and(|s| s > STALE_AFTER_MIN * 60) && d.last_error.is_some();
        let summary = match (d.pending, &d.last_error) {
            (0, _) => "sheet mirror: nothing waiting".to_owned(),
            (n, Some(e)) => format!("sheet mirror: {n} waiting; last error: {e}"),
            (n, None) => format!("sheet mirror: {n} waiting for the next flush"),
        };
        ComponentHealth::new(if stale { Level::Degraded } else { Level::Ok }, summary)
            .with("pending", d.pending)
            .with("oldest_pending_age_sec", oldest)
            .with("last_error", &d.last_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tabs::clans::Clan;

    #[test]
    fn the_overlay_shows_the_holds_and_a_release_gives_the_seat_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), Arc::new(crate::runtime::SystemClock)).unwrap();
        let holds = Holds {
            store,
            by_clan: ArcSwap::from_pointee(BTreeMap::from([(
                "C1CA".to_owned(),
                vec!["Rue".to_owned()],
            )])),
            depth: Default::default(),
        };
        let clan = |tag: &str, spots: u32| Clan {
            tag: tag.into(),
            spots,
            ..Default::default()
        };
        let mut list = ClanList::of([clan("C1CA", 2), clan("C1CB", 1)]);
        holds.apply(&mut list);
        let seats = |l: &ClanList, i: usize| {
            let c = &l.clans[i];
            (c.open_spots, c.reserved, c.reserved_by.clone())
        };
        assert_eq!(seats(&list, 0), (Some(1), Some(1), "1 -> Rue".to_owned()));
        assert_eq!(seats(&list, 1), (Some(1), Some(0), String::new()));
        holds.by_clan.store(Arc::new(BTreeMap::new()));
        holds.apply(&mut list);
        assert_eq!(seats(&list, 0), (Some(2), Some(0), String::new()));
    }
}
