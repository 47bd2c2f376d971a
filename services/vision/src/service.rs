//! The vision service's shell: loads the model (retrying with back-off when it is refused),
//! steps each camera at its frame rate on a blocking thread, publishes what changed.

use std::time::Duration;

use roomsense_core::{Context, Service, Stopped};
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::Error;
use crate::config::{CameraSettings, VisionSettings};
use crate::domain::backoff::Backoff;
use crate::domain::camera::CameraReport;
use crate::model::PersonDetector;
use crate::publish::{self, CameraTopics, ModelState};
use crate::worker::{CameraWorker, Step};

/// The vision service.
pub struct VisionService {
    ctx: Context,
    settings: VisionSettings,
    report_interval: Duration,
    device_model: String,
}

impl std::fmt::Debug for VisionService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VisionService").field("settings", &self.settings).finish_non_exhaustive()
    }
}

/// One camera as the shell sees it.
struct Camera {
    settings: CameraSettings,
    topics: CameraTopics,
    /// `None` while its step runs on a blocking thread.
    worker: Option<CameraWorker>,
    next_due: Duration,
    last_snapshot: Option<Duration>,
    failing: bool,
    frames_at_last_report: u64,
}

impl VisionService {
    /// A vision service on `ctx`'s link; `report_interval` paces diagnostics, `device_model` is
    /// the model Home Assistant shows for the node. Does nothing until run.
    pub fn new(
        ctx: Context,
        settings: VisionSettings,
        report_interval: Duration,
        device_model: String,
    ) -> Self {
        Self { ctx, settings, report_interval, device_model }
    }

    fn publish_model(&self, state: ModelState<'_>) {
        let topic = publish::model_topic(self.ctx.link.identity());
        let payload = serde_json::to_vec(&state).expect("model state should serialise");
        self.ctx.link.publish_state(&topic, payload, true);
    }

    fn publish_report(&self, topics: &CameraTopics, report: &CameraReport) {
        let link = &self.ctx.link;
        let places = std::iter::once((&topics.view, report.view))
            .chain(topics.zones.iter().zip(report.zones.iter().copied()));
        for (t, presence) in places {
            let (count, occupied) = publish::presence_payloads(presence);
            link.publish_state(&t.person, count, true);
            link.publish_state(&t.occupancy, occupied, true);
        }
    }

    /// Loads the model on a blocking thread, retrying with back-off while it is refused.
    async fn load_model(&self, shutdown: &CancellationToken) -> Option<PersonDetector> {
        let mut backoff = Backoff::new(Duration::from_secs(5), Duration::from_secs(300));
        let started = Instant::now();
        loop {
            let (dir, name) = (self.settings.models_dir.clone(), self.settings.model.clone());
            let (score, iou) = (self.settings.score_threshold, self.settings.nms_iou);
            let t0 = Instant::now();
            let load = tokio::task::spawn_blocking(move || {
                PersonDetector::load(&dir, &name).map(|d| d.with_thresholds(score, iou))
            });
            let result = tokio::select! {
                () = shutdown.cancelled() => return None,
                r = load => r,
            };
            let error = match result {
                Ok(Ok(detector)) => {
                    let load_ms = t0.elapsed().as_millis() as u64;
                    tracing::info!(service = "vision", model = %self.settings.model, elapsed_ms = load_ms, "model loaded");
                    self.publish_model(ModelState {
                        state: "loaded",
                        entry: &self.settings.model,
                        error: None,
                        load_ms: Some(load_ms),
                    });
                    return Some(detector);
                }
                Ok(Err(e)) => e.to_string(),
                Err(e) => format!("model loading stopped: {e}"),
            };
            let wait = backoff.failed(started.elapsed());
            tracing::error!(service = "vision", model = %self.settings.model, error = %error, "model refused");
            self.ctx.health.set(false);
            self.publish_model(ModelState {
                state: "error",
                entry: &self.settings.model,
                error: Some(error),
                load_ms: None,
            });
            tokio::select! {
                () = shutdown.cancelled() => return None,
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    fn handle_step(&self, cam: &mut Camera, step: Step, now: Duration) {
        if let Some(report) = &step.report {
            self.publish_report(&cam.topics, report);
        }
        if let Some(jpeg) = step.snapshot {
            cam.last_snapshot = Some(now);
            self.ctx.link.publish_state(&cam.topics.snapshot, jpeg, false);
        }
        match (&step.problem, cam.failing) {
            (Some(problem), false) => {
                cam.failing = true;
                tracing::warn!(service = "vision", device = %cam.settings.id, error = %problem, "camera problem");
            }
            (Some(problem), true) => {
                tracing::debug!(service = "vision", device = %cam.settings.id, error = %problem, "camera problem")
            }
            (None, true) if step.ran_model || step.report.is_some() => {
                cam.failing = false;
                tracing::info!(service = "vision", device = %cam.settings.id, "camera delivering again");
            }
            _ => {}
        }
        if let Some(t) = step.timings {
            tracing::trace!(device = %cam.settings.id, elapsed_ms = t.resize_ms + t.infer_ms + t.nms_ms, "inference");
        }
    }

    fn publish_diagnostics(&self, cameras: &mut [Camera]) {
        let mut delivering = cameras.is_empty();
        for cam in cameras.iter_mut() {
            let Some(worker) = &cam.worker else {
                // Mid-step: it is working.
                delivering = true;
                continue;
            };
            let c = worker.counters();
            delivering |= c.frames > cam.frames_at_last_report;
            cam.frames_at_last_report = c.frames;
            let payload = serde_json::to_vec(c).expect("counters should serialise");
            self.ctx.link.publish_state(&cam.topics.diagnostics, payload, true);
        }
        self.ctx.health.set(delivering);
    }
}

impl Service for VisionService {
    const NAME: &'static str = "vision";
    type Error = Error;

    async fn run(self, shutdown: CancellationToken) -> Result<Stopped, Error> {
        let identity = self.ctx.link.identity().clone();
        let mut cameras: Vec<Camera> = Vec::new();
        for settings in &self.settings.cameras {
            let topics = CameraTopics::new(&identity, settings);
            match crate::sources::open(settings) {
                Ok(source) => {
                    tracing::info!(service = Self::NAME, device = %settings.id, source = %source.describe(), "camera");
                    let worker = CameraWorker::new(
                        source,
                        settings.zones.clone(),
                        self.settings.motion,
                        self.settings.hold,
                    );
                    cameras.push(Camera {
                        settings: settings.clone(),
                        topics,
                        worker: Some(worker),
                        next_due: Duration::ZERO,
                        last_snapshot: None,
                        failing: false,
                        frames_at_last_report: 0,
                    });
                }
                Err(e) => {
                    tracing::error!(service = Self::NAME, device = %settings.id, error = %e, "camera left out")
                }
            }
        }
        let announced: Vec<_> =
            cameras.iter().map(|c| (c.settings.clone(), c.topics.clone())).collect();
        self.ctx.link.announce(&publish::discovery(
            &identity,
            &self.device_model,
            &announced,
            self.settings.snapshot,
        ));
        self.publish_model(ModelState {
            state: "loading",
            entry: &self.settings.model,
            error: None,
            load_ms: None,
        });
        tracing::info!(
            service = Self::NAME,
            node = identity.node_id(),
            cameras = cameras.len(),
            "running"
        );
        let Some(detector) = self.load_model(&shutdown).await else {
            return Ok(Stopped::Shutdown);
        };
        self.ctx.health.set(true);

        let started = Instant::now();
        let tick = cameras
            .iter()
            .map(|c| c.settings.frame_interval)
            .min()
            .unwrap_or(Duration::from_secs(1))
            .max(Duration::from_millis(20));
        let mut ticker = tokio::time::interval(tick);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let mut diagnostics = tokio::time::interval(self.report_interval);
        diagnostics.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut running: JoinSet<(usize, CameraWorker, Step)> = JoinSet::new();
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return Ok(Stopped::Shutdown),
                _ = ticker.tick() => {
                    let now = started.elapsed();
                    for (i, cam) in cameras.iter_mut().enumerate() {
                        if now < cam.next_due {
                            continue;
                        }
                        let Some(mut worker) = cam.worker.take() else { continue };
                        cam.next_due = now + cam.settings.frame_interval;
                        let snapshot = self.settings.snapshot
                            && cam.last_snapshot.is_none_or(|t| now.saturating_sub(t) >= self.settings.snapshot_interval);
                        let detector = detector.clone();
                        running.spawn_blocking(move || {
                            let step = worker.step(now, &detector, snapshot);
                            (i, worker, step)
                        });
                    }
                }
                Some(joined) = running.join_next() => match joined {
                    Ok((i, worker, step)) => {
                        let now = started.elapsed();
                        let cam = &mut cameras[i];
                        cam.worker = Some(worker);
                        self.handle_step(cam, step, now);
                    }
                    // A step that panicked takes its camera with it; the others go on.
                    Err(e) => tracing::error!(service = Self::NAME, error = %e, "camera step failed; camera stopped"),
                },
                _ = diagnostics.tick() => self.publish_diagnostics(&mut cameras),
            }
        }
    }
}
