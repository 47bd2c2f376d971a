//! Every record of `shared/testdata/ble/vectors.jsonl` with an `espresense_id_derived`, IRK or
//! distance expectation is a case here. The file lives beside the repository (`../shared`).

use std::path::PathBuf;

use roomsense_ble::{
    Address, AddressType, Advertisement, BleUuid, Irk, IrkTable, NodeSettings, Now, Tracker, ah,
    distance_m, parse_ad_into,
};
use serde_json::Value;

fn records() -> Vec<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata/ble/vectors.jsonl");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{} should be readable: {e}", path.display()));
    text.lines()
        .map(|l| serde_json::from_str(l).expect("every vector line should be json"))
        .collect()
}

fn hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

/// The vectors assume a random non-static address where they give none, a public one where they do.
const RANDOM: &str = "4a:0b:0c:0d:0e:0f";

fn advert(r: &Value) -> Advertisement {
    let (addr, t) = match r["mac"].as_str() {
        Some(m) => (Address::parse(m).expect("vector mac should parse"), AddressType::Public),
        None => (Address::parse(RANDOM).unwrap(), AddressType::Random),
    };
    let rssi = r["rssi"].as_i64().unwrap_or(-60) as i8;
    let mut a = Advertisement::new(1_700_000_000_000, addr, t, rssi);
    if let Some(n) = r["adv_name"].as_str() {
        a.name = Some(n.to_string());
    }
    // A corrupt hex field (one vector has "YYYY") is rejected: the advert goes on without it.
    if let Some(d) = r["mfg_hex"].as_str().and_then(hex)
        && d.len() >= 2
    {
        a.mfg.push((u16::from_le_bytes([d[0], d[1]]), d[2..].to_vec()));
    }
    if let (Some(u), Some(d)) =
        (r["svcdata_uuid"].as_str(), r["svcdata_hex"].as_str().and_then(hex))
    {
        a.svc_data.push((BleUuid::parse(u).expect("vector uuid should parse"), d));
    }
    for blob in r["ad_hex"].as_array().into_iter().flatten() {
        let bytes = hex(blob.as_str().unwrap()).unwrap();
        parse_ad_into(&bytes, &mut a).expect("vector AD structures should parse");
    }
    a
}

#[test]
fn espresense_ids_match_every_derived_vector() {
    let mut cases = 0;
    let mut failures = Vec::new();
    for r in records() {
        let Some(e) = r.get("espresense_id_derived") else { continue };
        // Where classic ESP32 (NimBLE 1) and S3/C3/C6 (NimBLE 2) builds differ, we follow the classic.
        let e = e.get("esp32_nimble1").unwrap_or(e);
        let a = advert(&r);
        let settings = NodeSettings { skip_ms: 0, max_distance: 0.0, ..NodeSettings::default() };
        let mut t = Tracker::new(settings, 16);
        let report = t.handle(&a, Now::from_wall(a.ts_ms));
        let want_id = e["id"].as_str().unwrap().replace("<mac>", &a.addr.to_hex());
        let want_type = e["idType"].as_i64().unwrap() as i16;
        let want_reported = e["reported"].as_bool().unwrap();
        let got = report.as_ref().map(|r| (r.id.clone(), r.id_type));
        let ok = match (&got, want_reported) {
            (Some((id, ty)), true) => *id == want_id && *ty == want_type,
            (None, false) => want_type <= 1,
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "{} {:?}: want {want_id} ({want_type}, {want_reported}), got {got:?}",
                r["kind"], r["label"]
            ));
        }
        cases += 1;
    }
    assert!(
        failures.is_empty(),
        "{} of {cases} vectors differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(cases >= 230, "expected every derived vector to be a case, ran {cases}");
}

#[test]
fn irk_vectors_hold() {
    let mut cases = 0;
    for r in records() {
        match r["kind"].as_str() {
            Some("irk_ah_sample") => {
                let irk = Irk::parse(r["irk_hex_msb_first"].as_str().unwrap()).unwrap();
                let prand: [u8; 3] =
                    hex(r["prand_hex"].as_str().unwrap()).unwrap().try_into().unwrap();
                let want = hex(r["expected_decoded"]["ah"].as_str().unwrap()).unwrap();
                assert_eq!(ah(&irk, prand).to_vec(), want);
                let rpa = Address::parse(r["expected_decoded"]["rpa"].as_str().unwrap()).unwrap();
                let mut table = IrkTable::default();
                table.insert(irk);
                assert_eq!(table.resolve(&rpa), Some(irk));
                // Every spelling the vector lists is the same key.
                let forms = &r["home_assistant_private_ble_form"];
                assert_eq!(
                    Irk::parse(forms["base64_as_from_macOS_keychain"].as_str().unwrap()).unwrap(),
                    irk
                );
                let id = r["espresense_forms"]["known_irks / settings id"].as_str().unwrap();
                assert_eq!(irk.to_id(), id);
                cases += 1;
            }
            Some("irk_rpa_resolves") => {
                let irk = Irk::parse(r["irk_hex_msb_first"].as_str().unwrap()).unwrap();
                let addr = Address::parse(r["address"].as_str().unwrap()).unwrap();
                let mut table = IrkTable::default();
                table.insert(irk);
                let want = r["expected_decoded"]["resolves"].as_bool().unwrap();
                assert_eq!(table.resolve(&addr).is_some(), want, "{addr}");
                cases += 1;
            }
            _ => {}
        }
    }
    assert_eq!(cases, 7);
}

#[test]
fn distance_formula_vectors_hold() {
    let mut cases = 0;
    for r in records().iter().filter(|r| r["kind"] == "distance_formula") {
        for c in r["cases"].as_array().unwrap() {
            let d = distance_m(
                c["ref_power"].as_f64().unwrap() as f32,
                c["rssi"].as_f64().unwrap() as f32,
                c["attenuation"].as_f64().unwrap() as f32,
            );
            // Compare with a relative tolerance: f32 may land a hair under an exact power of ten.
            let want = c["expected_floor"].as_f64().unwrap() as f32;
            assert!(d >= want * 0.9999 && d < want + 1.0, "{c}: {d}");
            cases += 1;
        }
    }
    assert_eq!(cases, 2);
}

#[test]
fn full_ad_structure_vectors_decode_as_upstream_says() {
    let mut cases = 0;
    for r in records().iter().filter(|r| r["kind"] == "full_ad_structures") {
        let a = advert(r);
        let want = &r["expected_decoded"];
        assert_eq!(a.name.as_deref(), want["local_name"].as_str());
        assert_eq!(a.tx_power.map(i64::from), want["tx_power"].as_i64());
        let uuids: Vec<String> = a
            .uuids
            .iter()
            .map(|u| match u {
                BleUuid::U16(v) => format!("0000{v:04x}-0000-1000-8000-00805f9b34fb"),
                other => other.to_string(),
            })
            .collect();
        let want_uuids: Vec<String> = want["service_uuids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        assert_eq!(uuids, want_uuids);
        for (cid, bytes) in &a.mfg {
            assert_eq!(
                want["manufacturer_data"][cid.to_string()].as_str(),
                Some(hex_of(bytes).as_str())
            );
        }
        assert_eq!(a.svc_data.len(), want["service_data"].as_object().unwrap().len());
        cases += 1;
    }
    assert_eq!(cases, 5);
}

fn hex_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
