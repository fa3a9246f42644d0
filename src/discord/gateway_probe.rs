//! Feeds the runtime's [`GatewayTracker`] from serenity: stage changes as they are
//! dispatched, and heartbeat ACKs observed by polling the shard manager (serenity
//! republishes a shard's latency on every ACK; it does not expose the ACK's time).

use std::sync::Arc;
use std::time::Duration;

use serenity::all::{
    ConnectionStage, Context, EventHandler, Ready, ResumedEvent, ShardId, ShardManager,
    ShardStageUpdateEvent,
};

use crate::runtime::{Clock, GatewayStage, GatewayTracker, Shutdown};

/// How often the shard manager is polled.
pub(crate) const POLL: Duration = Duration::from_millis(250);

pub(crate) fn map_stage(stage: ConnectionStage) -> GatewayStage {
    match stage {
        ConnectionStage::Connected => GatewayStage::Connected,
        ConnectionStage::Identifying => GatewayStage::Identifying,
        ConnectionStage::Resuming => GatewayStage::Resuming,
        ConnectionStage::Disconnected => GatewayStage::Disconnected,
        _ => GatewayStage::Connecting,
    }
}

/// serenity event handler for stage changes and session starts.
pub(crate) struct StageEvents {
    pub tracker: Arc<GatewayTracker>,
    pub clock: Arc<dyn Clock>,
}

#[serenity::async_trait]
impl EventHandler for StageEvents {
    async fn ready(&self, _ctx: Context, ready: Ready) {
        self.tracker
            .set_stage(GatewayStage::Connected, self.clock.now());
        tracing::info!(bot = %ready.user.name, guilds = ready.guilds.len(), "connected to Discord (new session)");
    }

    async fn resume(&self, _ctx: Context, _: ResumedEvent) {
        self.tracker
            .set_stage(GatewayStage::Connected, self.clock.now());
        tracing::info!("gateway session resumed");
    }

    async fn shard_stage_update(&self, _ctx: Context, ev: ShardStageUpdateEvent) {
        let stage = map_stage(ev.new);
        self.tracker.set_stage(stage, self.clock.now());
        tracing::info!(from = %ev.old, to = %ev.new, "gateway stage changed");
    }
}

/// Polls shard 0 until shutdown.
pub(crate) async fn poll(
    manager: Arc<ShardManager>,
    tracker: Arc<GatewayTracker>,
    clock: Arc<dyn Clock>,
    shutdown: Shutdown,
) {
    let mut last_latency: Option<Duration> = None;
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tick.tick() => {}
        }
        let info = manager
            .runners
            .lock()
            .await
            .get(&ShardId(0))
            .map(|r| (r.stage, r.latency));
        let now = clock.now();
        use crate::runtime::GatewayProbe as _;
        match info {
            Some((stage, latency)) => {
                tracker.set_stage(map_stage(stage), now);
                if latency.is_some() && latency != last_latency {
                    tracker.heartbeat_ack(now, latency);
                }
                last_latency = latency;
            }
            // Between a shard's restart and its new runner.
            None if tracker.snapshot().stage != GatewayStage::NotStarted => {
                tracker.set_stage(GatewayStage::Connecting, now);
                last_latency = None;
            }
            None => {}
        }
    }
}
