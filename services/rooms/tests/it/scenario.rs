use std::time::Duration;

use roomsense_rooms::{
    Automations, Fusion, House, Occupancy, RoomsConfig, TimeOfDay, Topics, decode,
};

const CONFIG: &str = include_str!("../data/walk.toml");
const SCRIPT: &str = include_str!("../data/walk.script");

/// `(t, topic levels, payload)`.
type Message = (f64, String, String);
/// `(t, room, occupied)`.
type Change = (f64, String, bool);

/// `(t, topic levels, payload)` and `(t, room, occupied)` lines of a script.
fn parse_script(text: &str) -> (Vec<Message>, Vec<Change>) {
    let mut messages = Vec::new();
    let mut expected = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f[0] == "expect" {
            expected.push((f[1].parse().unwrap(), f[2].to_owned(), f[3] == "ON"));
        } else {
            messages.push((f[0].parse().unwrap(), f[1].to_owned(), f[2].to_owned()));
        }
    }
    (messages, expected)
}

fn house() -> House {
    RoomsConfig::from_toml("walk.toml", &format!("[rooms]\n{CONFIG}")).unwrap().1
}

/// Every occupancy change of replaying `messages`, stepping through every wakeup in between.
fn replay(house: &House, messages: &[Message], until: f64) -> Vec<Change> {
    let topics = Topics::new("roomsense");
    let mut fusion = Fusion::new(house);
    let mut changes = Vec::new();
    let mut record = |updates: Vec<roomsense_rooms::RoomUpdate>, t: Duration| {
        for u in updates {
            if let Some(b) = u.became {
                changes.push((
                    t.as_secs_f64(),
                    house.rooms[u.room].id.clone(),
                    b == Occupancy::Occupied,
                ));
            }
        }
    };
    let mut now = Duration::ZERO;
    record(fusion.advance(now), now);
    let mut i = 0;
    loop {
        let next_message = messages.get(i).map(|m| Duration::from_secs_f64(m.0));
        let next = match (next_message, fusion.next_wakeup(now)) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => match a.or(b) {
                Some(t) => t,
                None => break,
            },
        };
        if next.as_secs_f64() > until {
            break;
        }
        now = next;
        if next_message == Some(next) {
            let (_, levels, payload) = &messages[i];
            i += 1;
            let inbound =
                topics.parse(&format!("roomsense/{levels}")).expect("a topic the service reads");
            let heard = decode(inbound, payload.as_bytes()).expect("a valid payload");
            if let Some(obs) = heard.observation {
                record(fusion.observe(obs, now), now);
            }
        } else {
            record(fusion.advance(now), now);
        }
    }
    changes
}

#[test]
fn the_walk_gives_the_scripted_occupancy_timeline_and_nothing_else() {
    let (messages, expected) = parse_script(SCRIPT);
    let got = replay(&house(), &messages, 120.0);
    let show = |v: &[Change]| -> String {
        v.iter()
            .map(|(t, r, o)| format!("{t:6.3} {r} {}\n", if *o { "ON" } else { "OFF" }))
            .collect()
    };
    assert_eq!(got.len(), expected.len(), "got:\n{}expected:\n{}", show(&got), show(&expected));
    for (g, e) in got.iter().zip(&expected) {
        assert_eq!((&g.1, g.2), (&e.1, e.2), "got:\n{}expected:\n{}", show(&got), show(&expected));
        assert!((g.0 - e.0).abs() < 0.01, "{} at {} instead of {}:\n{}", g.1, g.0, e.0, show(&got));
    }
}

#[test]
fn with_the_phone_alone_the_lounge_would_have_emptied_while_she_sat_there() {
    let (messages, _) = parse_script(SCRIPT);
    // The same walk without the lounge camera: only the phone (left in the kitchen) and voice.
    let blind: Vec<_> = messages.into_iter().filter(|m| !m.1.contains("lounge_cam")).collect();
    let got = replay(&house(), &blind, 120.0);
    let lounge: Vec<(f64, bool)> =
        got.iter().filter(|c| c.1 == "lounge").map(|c| (c.0, c.2)).collect();
    // Occupied from the phone at 5.2, empty 2 s after the phone left at 12.4: she sat there
    // from 15 to 22 unseen.
    assert_eq!(lounge.first().map(|c| c.1), Some(true));
    assert!(lounge.iter().any(|(t, o)| !o && (14.0..15.0).contains(t)), "{lounge:?}");
}

#[test]
fn an_automation_follows_the_kitchen_on_the_same_walk() {
    let (messages, _) = parse_script(SCRIPT);
    let text = format!(
        "[rooms]\n{CONFIG}\n[rooms.automations.light_on]\ntrigger = {{ room = \"kitchen\", becomes = \"occupied\" }}\nactions = [{{ output = \"n1/kitchen_light\", set = \"ON\" }}]\n\n[rooms.automations.light_off]\ntrigger = {{ room = \"kitchen\", empty_for_s = 2 }}\nactions = [{{ output = \"n1/kitchen_light\", set = \"OFF\" }}]\n"
    );
    let house = RoomsConfig::from_toml("walk.toml", &text).unwrap().1;
    let changes = replay(&house, &messages, 120.0);
    let kitchen = house.room_index("kitchen").unwrap();
    let mut automations = Automations::new(&house, Duration::ZERO);
    let clock = TimeOfDay(12 * 60);
    let mut fired = Vec::new();
    let mut events: Vec<(f64, Option<bool>)> =
        changes.iter().filter(|c| c.1 == "kitchen").map(|c| (c.0, Some(c.2))).collect();
    events.push((60.0, None));
    for (t, change) in events {
        let now = Duration::from_secs_f64(t);
        // Deadlines that fall before this change.
        while let Some(d) = automations.next_deadline().filter(|d| *d <= now) {
            for f in automations.advance(d, clock).fired {
                fired.push((d.as_secs_f64(), f.rule));
            }
        }
        if let Some(occupied) = change {
            for f in automations.room_changed(kitchen, Occupancy::of(occupied), now, clock).fired {
                fired.push((t, f.rule));
            }
        }
    }
    let rules: Vec<(i64, &str)> =
        fired.iter().map(|(t, r)| ((t * 10.0).round() as i64, r.as_str())).collect();
    // On at 0.5 (before the 2 s of emptiness from start ran out), off at 7 + 2, on at 13, off
    // at 20 + 2; never twice in a row.
    assert_eq!(
        rules,
        vec![(5, "light_on"), (90, "light_off"), (130, "light_on"), (220, "light_off")]
    );
}
