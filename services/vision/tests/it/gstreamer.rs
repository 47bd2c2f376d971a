use std::time::Duration;

use roomsense_tests::mosquitto::Mosquitto;
use roomsense_vision::{FrameSource, GstSource, SourceError, SourceSpec, sample_images_dir};

use crate::service::{camera, start, vision};

fn source(pipeline: &str) -> GstSource {
    let spec = SourceSpec::Pipeline(pipeline.into());
    GstSource::new(spec.pipeline(320, 240).unwrap(), 320, 240)
}

fn s(secs: u64) -> Duration {
    Duration::from_secs(secs)
}

#[test]
fn videotestsrc_frames_arrive_at_the_size_asked_for() {
    let mut src = source("videotestsrc is-live=true pattern=ball");
    let frame =
        (0..10).find_map(|i| src.grab(Duration::from_millis(i * 100)).ok()).expect("a frame");
    assert_eq!((frame.width(), frame.height(), frame.rgb().len()), (320, 240, 320 * 240 * 3));
}

#[test]
fn a_missing_element_is_a_clear_message_and_is_retried_with_back_off() {
    let mut src = GstSource::new(SourceSpec::Libcamera(None).pipeline(320, 240).unwrap(), 320, 240);
    match src.grab(s(0)) {
        Err(SourceError::Unavailable { reason, retry_in }) => {
            assert!(reason.contains("no element \"libcamerasrc\""), "{reason}");
            assert!(reason.contains("gstreamer1.0-libcamera"), "{reason}");
            assert_eq!(retry_in, s(1));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        src.grab(Duration::from_millis(500)),
        Err(SourceError::NotReady),
        "no retry before the wait"
    );
    assert!(
        matches!(src.grab(s(1)), Err(SourceError::Unavailable { retry_in, .. }) if retry_in == s(2))
    );
}

#[test]
fn a_camera_that_goes_away_mid_stream_is_reported_and_reconnected() {
    // Five frames, then the stream ends, as when a USB camera is pulled.
    let mut src = source("videotestsrc num-buffers=5");
    let mut frames = 0;
    let mut gone = None;
    for i in 0..40u64 {
        match src.grab(Duration::from_millis(i * 100)) {
            Ok(_) => frames += 1,
            Err(SourceError::Unavailable { reason, .. }) => {
                gone = Some((i, reason));
                break;
            }
            Err(_) => {}
        }
    }
    let (at, reason) = gone.expect("the end of the stream should be reported");
    assert!(frames >= 1, "frames before it went away");
    assert!(reason.contains("ended"), "{reason}");
    // After the back-off the pipeline is rebuilt and frames flow again.
    let back =
        (0..20u64).any(|i| src.grab(Duration::from_millis(at * 100 + 1000 + i * 100)).is_ok());
    assert!(back, "frames should flow again after the reconnect");
}

#[test]
fn a_photo_played_as_a_video_is_counted_through_mosquitto() {
    let broker = Mosquitto::start();
    let sub = broker.subscribe(&["roomsense/g1/#"]);
    let mut cam = camera("stream", "pipeline");
    cam.pipeline = Some(format!(
        "multifilesrc location=\"{}\" loop=true caps=image/png,framerate=4/1 ! pngdec ! identity sync=true",
        sample_images_dir().join("astronaut.png").display()
    ));
    let _service = start(&broker, "g1", vision(vec![cam]));
    let wait = Duration::from_secs(60);
    sub.wait_for("a count of one", wait, |t, p| {
        t == "roomsense/g1/vision/stream/person" && p == "1"
    });
    sub.wait_for("occupancy", wait, |t, p| {
        t == "roomsense/g1/vision/stream/occupancy" && p == "ON"
    });
    sub.wait_for("her zone", wait, |t, p| {
        t == "roomsense/g1/vision/stream/zone/left/occupancy" && p == "ON"
    });
}
