//! The audio service's shell. Each microphone has a worker thread (its source, resampling,
//! inference and level: CPU-bound and blocking) that sends what it found here; this task holds
//! the voice state, the timers and the link. The only place in the crate that awaits.

use std::time::Duration;

use roomsense_core::{Context, Service, Stopped};
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior, sleep_until};
use tokio_util::sync::CancellationToken;

use crate::config::{AudioSettings, Mic};
use crate::domain::level::LevelReading;
use crate::domain::vad::{SegmentRules, SpeechEvent};
use crate::domain::voice::{VoiceChange, VoiceHold};
use crate::error::{Error, SourceError};
use crate::model::VadModel;
use crate::pipeline::{Analysis, Pipeline};
use crate::publish::{self, MicTopics};
use crate::sources::{AudioSource, RETRY, Read, SourceSpec};

/// The audio service.
pub struct AudioService {
    ctx: Context,
    settings: AudioSettings,
    model_name: String,
}

impl std::fmt::Debug for AudioService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioService").field("settings", &self.settings).finish_non_exhaustive()
    }
}

/// What a worker tells the shell.
#[derive(Debug)]
enum Event {
    Speaking(bool),
    Level(LevelReading),
    /// The worker is running (sent about once a second), and whether audio arrived since.
    Alive {
        audio: bool,
    },
    Problem(String),
}

/// Events waiting for the shell; a worker blocks when it is full (the shell is never that slow).
const EVENTS: usize = 256;
/// A worker not heard from for this long is stuck: the service is unhealthy (a restart helps).
/// A microphone that is absent or broken is not: its worker keeps retrying and says why.
const SILENT_LIMIT: Duration = Duration::from_secs(10);

impl AudioService {
    /// The audio service on `ctx`'s link; `model_name` is the board model Home Assistant shows.
    /// Does nothing until run.
    pub fn new(ctx: Context, settings: AudioSettings, model_name: impl Into<String>) -> Self {
        Self { ctx, settings, model_name: model_name.into() }
    }
}

impl Service for AudioService {
    const NAME: &'static str = "audio";
    type Error = Error;

    async fn run(self, shutdown: CancellationToken) -> Result<Stopped, Error> {
        let identity = self.ctx.link.identity().clone();
        if self.settings.mics.is_empty() {
            return Err(Error::NoMicrophone);
        }
        let path = self.settings.model.clone();
        let model = tokio::task::spawn_blocking(move || match path {
            Some(p) => VadModel::load(&p),
            None => VadModel::builtin(),
        })
        .await
        .map_err(|e| Error::Worker { mic: "-".into(), message: e.to_string() })??;
        let rules = self.settings.overrides.apply(model.manifest());
        tracing::info!(service = Self::NAME, model = %model.origin().display(), "model loaded");

        let mics: Vec<(Mic, MicTopics)> = self
            .settings
            .mics
            .iter()
            .map(|m| (m.clone(), MicTopics::new(&identity, &m.id)))
            .collect();
        self.ctx.link.announce(&publish::discovery(&identity, &self.model_name, &mics));
        for (_, topics) in &mics {
            self.ctx.link.publish_state(&topics.voice, "OFF", true);
        }

        let stop = CancellationToken::new();
        let (tx, mut rx) = mpsc::channel::<(usize, Event)>(EVENTS);
        let mut workers = Vec::new();
        for (i, (mic, _)) in mics.iter().enumerate() {
            let job = Job {
                index: i,
                spec: mic.source.clone(),
                model: model.clone(),
                rules,
                level_window: self.settings.level_window,
                tx: tx.clone(),
                stop: stop.clone(),
            };
            let handle = std::thread::Builder::new()
                .name(format!("audio {}", mic.id))
                .spawn(move || job.run())
                .map_err(|e| Error::Worker { mic: mic.id.clone(), message: e.to_string() })?;
            workers.push(handle);
        }
        drop(tx);

        let started = Instant::now();
        let mut voices: Vec<VoiceHold> =
            mics.iter().map(|_| VoiceHold::new(self.settings.voice_hold)).collect();
        let mut last_beat: Vec<Option<Instant>> = vec![None; mics.len()];
        let mut troubled = vec![false; mics.len()];
        let mut health = tokio::time::interval(Duration::from_secs(2));
        health.set_missed_tick_behavior(MissedTickBehavior::Delay);
        tracing::info!(
            service = Self::NAME,
            node = identity.node_id(),
            count = mics.len(),
            "running"
        );
        let result = loop {
            let deadline = voices.iter().filter_map(VoiceHold::deadline).min();
            tokio::select! {
                () = shutdown.cancelled() => break Ok(Stopped::Shutdown),
                message = rx.recv() => {
                    let Some((i, event)) = message else {
                        break Err(Error::Worker { mic: "all".into(), message: "every worker stopped".into() });
                    };
                    let (mic, topics) = &mics[i];
                    let now = started.elapsed();
                    match event {
                        Event::Speaking(speaking) => {
                            if let Some(change) = voices[i].handle(speaking, now) {
                                publish_voice(&self.ctx, topics, change);
                            }
                        }
                        Event::Level(reading) => {
                            self.ctx.link.publish_state(&topics.level, publish::level_payload(&reading, mic.calibration_db), true);
                            self.ctx.link.publish_state(&topics.level_attributes, publish::level_attributes(&reading), true);
                        }
                        Event::Alive { audio } => {
                            last_beat[i] = Some(Instant::now());
                            if audio && std::mem::take(&mut troubled[i]) {
                                tracing::info!(service = Self::NAME, device = %mic.id, "microphone delivers audio again");
                            }
                        }
                        Event::Problem(message) => {
                            if std::mem::replace(&mut troubled[i], true) {
                                tracing::debug!(service = Self::NAME, device = %mic.id, error = %message, "microphone still failing");
                            } else {
                                tracing::warn!(service = Self::NAME, device = %mic.id, error = %message, "microphone failed");
                            }
                        }
                    }
                }
                () = sleep_until(started + deadline.unwrap_or_default()), if deadline.is_some() => {
                    let now = started.elapsed();
                    for (i, voice) in voices.iter_mut().enumerate() {
                        if let Some(change) = voice.poll(now) {
                            publish_voice(&self.ctx, &mics[i].1, change);
                        }
                    }
                }
                _ = health.tick() => {
                    let fresh = |t: &Option<Instant>| t.is_some_and(|t| t.elapsed() < SILENT_LIMIT);
                    let warming_up = started.elapsed() < SILENT_LIMIT;
                    self.ctx.health.set(warming_up || last_beat.iter().all(fresh));
                }
            }
        };
        stop.cancel();
        drop(rx);
        let _ = tokio::task::spawn_blocking(move || {
            for w in workers {
                let _ = w.join();
            }
        })
        .await;
        result
    }
}

fn publish_voice(ctx: &Context, topics: &MicTopics, change: VoiceChange) {
    let payload = match change {
        VoiceChange::On => "ON",
        VoiceChange::Off => "OFF",
    };
    tracing::debug!(topic = %topics.voice, payload, "voice changed");
    ctx.link.publish_state(&topics.voice, payload, true);
}

/// One microphone's worker: open the source (again after a failure), run the pipeline, report.
struct Job {
    index: usize,
    spec: SourceSpec,
    model: VadModel,
    rules: SegmentRules,
    level_window: usize,
    tx: mpsc::Sender<(usize, Event)>,
    stop: CancellationToken,
}

impl Job {
    fn run(self) {
        let mut pipeline = match Pipeline::new(&self.model, self.rules, self.level_window) {
            Ok(p) => p,
            Err(e) => {
                self.send(Event::Problem(e.to_string()));
                return;
            }
        };
        let mut analysis = Analysis::default();
        let mut source: Option<Box<dyn AudioSource>> = None;
        let mut beat = std::time::Instant::now();
        let mut audio = false;
        while !self.stop.is_cancelled() {
            if beat.elapsed() >= Duration::from_secs(1) {
                beat = std::time::Instant::now();
                if !self.send(Event::Alive { audio: std::mem::take(&mut audio) }) {
                    return;
                }
            }
            let src = match &mut source {
                Some(s) => s,
                None => match self.spec.open() {
                    Ok(s) => source.insert(s),
                    Err(e) => {
                        if !self.send(Event::Problem(e.to_string())) {
                            return;
                        }
                        self.wait(RETRY);
                        continue;
                    }
                },
            };
            let read = src.read();
            analysis.clear();
            match read {
                Ok(Read::Audio(block)) => {
                    pipeline.process(&block, &mut analysis);
                    audio = true;
                }
                Ok(Read::Idle) => {}
                Ok(Read::End) => {
                    pipeline.finish(&mut analysis);
                    source = None;
                }
                Err(e) => {
                    pipeline.break_stream(&mut analysis);
                    // A file that cannot be read is reopened later (it may be fixed); a device
                    // reopens itself.
                    if matches!(e, SourceError::Wav { .. } | SourceError::Stopped { .. }) {
                        source = None;
                    }
                    if !self.forward(&analysis) || !self.send(Event::Problem(e.to_string())) {
                        return;
                    }
                    if source.is_none() {
                        self.wait(RETRY);
                    }
                    continue;
                }
            }
            if !self.forward(&analysis) {
                return;
            }
        }
    }

    /// Sends what the pipeline found; false when the shell is gone.
    fn forward(&self, analysis: &Analysis) -> bool {
        for e in &analysis.speech {
            let speaking = matches!(e, SpeechEvent::Confirmed { .. });
            if !self.send(Event::Speaking(speaking)) {
                return false;
            }
        }
        for r in &analysis.levels {
            if !self.send(Event::Level(*r)) {
                return false;
            }
        }
        if analysis.failed > 0
            && !self.send(Event::Problem(format!("{} inferences failed", analysis.failed)))
        {
            return false;
        }
        true
    }

    fn send(&self, event: Event) -> bool {
        self.tx.blocking_send((self.index, event)).is_ok()
    }

    fn wait(&self, total: Duration) {
        let until = std::time::Instant::now() + total;
        while !self.stop.is_cancelled() {
            let Some(left) = until.checked_duration_since(std::time::Instant::now()) else {
                return;
            };
            std::thread::sleep(left.min(Duration::from_millis(50)));
        }
    }
}
