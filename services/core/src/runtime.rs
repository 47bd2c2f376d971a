//! Process-level plumbing shared by every entry point: signals, systemd readiness and the
//! watchdog fed by the services' own health.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::service::Health;

/// Cancels `token` on SIGTERM or SIGINT (ctrl-c).
pub async fn cancel_on_signal(token: CancellationToken) {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "SIGTERM handler not installed");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = token.cancelled() => return,
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
    token.cancel();
}

/// Tells systemd the process is ready (a no-op outside systemd).
pub fn notify_ready() {
    if let Err(e) = sd_notify::notify(&[sd_notify::NotifyState::Ready]) {
        tracing::debug!(error = %e, "sd_notify READY failed");
    }
}

/// Tells systemd the process is stopping (a no-op outside systemd).
pub fn notify_stopping() {
    if let Err(e) = sd_notify::notify(&[sd_notify::NotifyState::Stopping]) {
        tracing::debug!(error = %e, "sd_notify STOPPING failed");
    }
}

/// Feeds systemd's watchdog at half its interval, but only while every service in `health`
/// says it is healthy: a service that stopped doing its job gets restarted. Returns at once
/// when no watchdog is configured.
pub async fn feed_watchdog(health: Vec<Health>, shutdown: CancellationToken) {
    let Some(interval) = sd_notify::watchdog_enabled() else { return };
    let period = (interval / 2).max(Duration::from_millis(100));
    let mut ticker = tokio::time::interval(period);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticker.tick() => {
                if health.iter().all(Health::is_healthy) {
                    if let Err(e) = sd_notify::notify(&[sd_notify::NotifyState::Watchdog]) {
                        tracing::debug!(error = %e, "sd_notify WATCHDOG failed");
                    }
                } else {
                    tracing::warn!("a service is unhealthy: not feeding the watchdog");
                }
            }
        }
    }
}
