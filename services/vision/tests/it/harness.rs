use std::path::Path;

use roomsense_vision::{Frame, ModelError, PersonDetector, sample_images_dir, source_models_dir};

fn photo(name: &str) -> Frame {
    let bytes = std::fs::read(sample_images_dir().join(name)).expect("test photo should exist");
    Frame::decode(&bytes).expect("test photo should decode")
}

fn detector() -> PersonDetector {
    PersonDetector::load(&source_models_dir(), "person").expect("shipped model should load")
}

#[test]
fn the_shipped_model_finds_the_people_in_the_photos_that_have_one_and_nobody_elsewhere() {
    let d = detector();
    // MODELS.md, measured with onnxruntime and tract on the same files and preprocessing.
    for (name, expected) in [
        ("astronaut.png", 0.92),
        ("camera.png", 0.99),
        ("coffee.png", 0.003),
        ("chelsea.png", 0.016),
        ("rocket.jpg", 0.002),
    ] {
        let top = d.top_score(&photo(name)).unwrap();
        assert!(
            (top - expected).abs() < 0.02,
            "{name}: top score {top}, MODELS.md says {expected}"
        );
        let (people, _) = d.detect(&photo(name)).unwrap();
        assert_eq!(people.len(), usize::from(expected > 0.5), "{name}: {people:?}");
    }
}

#[test]
fn the_astronauts_box_covers_her_where_the_reference_puts_it() {
    let (people, _) = detector().detect(&photo("astronaut.png")).unwrap();
    // MODELS.md: top anchor box [ymin, xmin, ymax, xmax] = [0.063, 0.006, 0.994, 0.727].
    let b = people[0].bbox;
    for (got, want) in [(b.ymin, 0.063), (b.xmin, 0.006), (b.ymax, 0.994), (b.xmax, 0.727)] {
        assert!((got - want).abs() < 0.02, "box {b:?}");
    }
}

fn copy_models(to: &Path) {
    for entry in std::fs::read_dir(source_models_dir()).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

#[test]
fn a_corrupt_model_file_is_refused_naming_the_file_and_the_manifest_entry() {
    let dir = tempfile::tempdir().unwrap();
    copy_models(dir.path());
    let file = dir.path().join("ssdlite_mobilenetv2_pedestrian.onnx");
    let mut bytes = std::fs::read(&file).unwrap();
    bytes.truncate(bytes.len() / 2);
    std::fs::write(&file, bytes).unwrap();
    let err = PersonDetector::load(dir.path(), "person").unwrap_err();
    assert!(matches!(err, ModelError::Checksum { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("model `person`") && text.contains("ssdlite_mobilenetv2_pedestrian.onnx"),
        "{text}"
    );
}

#[test]
fn a_model_whose_tensors_differ_from_the_manifest_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    copy_models(dir.path());
    let manifest = dir.path().join("vision.manifest.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replace("shape = [1, 1917, 4]", "shape = [1, 2034, 4]")
            .replace("shape = [1, 1917, 1]", "shape = [1, 2034, 1]"),
    )
    .unwrap();
    let err = PersonDetector::load(dir.path(), "person").unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ModelError::Tensor { .. }), "{text}");
    assert!(
        text.contains("output `boxes` shape is 1,1917,4,f32 but the manifest says 1,2034,4,f32"),
        "{text}"
    );

    std::fs::write(
        &manifest,
        std::fs::read_to_string(source_models_dir().join("vision.manifest.toml"))
            .unwrap()
            .replace("name = \"image\"", "name = \"input\""),
    )
    .unwrap();
    let text = PersonDetector::load(dir.path(), "person").unwrap_err().to_string();
    assert!(text.contains("inputs is [\"image\"] but the manifest says [\"input\"]"), "{text}");
}

#[test]
fn an_unknown_entry_lists_the_entries_there_are() {
    let err = PersonDetector::load(&source_models_dir(), "cat").unwrap_err();
    assert!(err.to_string().contains("has no entry `cat` (entries: person)"), "{err}");
}
