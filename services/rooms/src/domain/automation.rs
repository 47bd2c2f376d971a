//! Local automations as a state machine: room changes, sensor values and the time in; the rules
//! that fire, with why and what to do, out. Time is passed in: `now` (monotonic) for "empty for",
//! the local time of day for conditions.

use std::time::Duration;

use super::house::{Action, Condition, House, Occupancy, Rule, SensorRef, TimeOfDay, Trigger};

/// A rule that fired: what started it and what to do.
#[derive(Debug, Clone, PartialEq)]
pub struct Firing {
    /// The rule's key.
    pub rule: String,
    /// What started it, in words (`kitchen became occupied`).
    pub trigger: String,
    /// What to do, in order.
    pub actions: Vec<Action>,
}

/// A rule that was triggered but whose conditions did not hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    /// The rule's key.
    pub rule: String,
    /// The condition that failed, in words.
    pub because: String,
}

/// What evaluating the rules gave.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Outcome {
    /// Rules that fired.
    pub fired: Vec<Firing>,
    /// Rules triggered whose conditions did not hold.
    pub skipped: Vec<Skipped>,
}

impl Outcome {
    fn merge(&mut self, other: Outcome) {
        self.fired.extend(other.fired);
        self.skipped.extend(other.skipped);
    }
}

#[derive(Debug, Clone)]
struct RuleState {
    rule: Rule,
    /// For `empty_for`: already fired in this empty spell.
    done: bool,
    /// For threshold triggers: whether the last value was beyond the threshold.
    beyond: Option<bool>,
}

/// Every rule of the house and what each has seen.
#[derive(Debug, Clone)]
pub struct Automations {
    rules: Vec<RuleState>,
    room_names: Vec<String>,
    occupied: Vec<bool>,
    /// When each room last became empty (the start counts: rooms start empty).
    empty_since: Vec<Option<Duration>>,
}

impl Automations {
    /// The rules of `house`; every room empty since `start`.
    pub fn new(house: &House, start: Duration) -> Self {
        Self {
            rules: house
                .rules
                .iter()
                .map(|r| RuleState { rule: r.clone(), done: false, beyond: None })
                .collect(),
            room_names: house.rooms.iter().map(|r| r.id.clone()).collect(),
            occupied: vec![false; house.rooms.len()],
            empty_since: vec![Some(start); house.rooms.len()],
        }
    }

    /// Whether there are any rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// A room's occupancy changed at `now`.
    pub fn room_changed(
        &mut self,
        room: usize,
        to: Occupancy,
        now: Duration,
        clock: TimeOfDay,
    ) -> Outcome {
        if room >= self.occupied.len() {
            return Outcome::default();
        }
        let occupied = to == Occupancy::Occupied;
        self.occupied[room] = occupied;
        self.empty_since[room] = (!occupied).then_some(now);
        let mut out = Outcome::default();
        for i in 0..self.rules.len() {
            match self.rules[i].rule.trigger {
                Trigger::Becomes { room: r, to: want } if r == room && want == to => {
                    let why = format!("{} became {}", self.room_names[room], to.as_str());
                    out.merge(self.fire(i, why, clock));
                }
                Trigger::EmptyFor { room: r, .. } if r == room => self.rules[i].done = false,
                _ => {}
            }
        }
        out
    }

    /// A sensor reported `value`.
    pub fn sensor(&mut self, sensor: &SensorRef, value: f64, clock: TimeOfDay) -> Outcome {
        let mut out = Outcome::default();
        for i in 0..self.rules.len() {
            let (threshold, upward) = match &self.rules[i].rule.trigger {
                Trigger::Crosses { sensor: s, threshold, upward } if s == sensor => {
                    (*threshold, *upward)
                }
                _ => continue,
            };
            let beyond = if upward { value > threshold } else { value < threshold };
            let before = self.rules[i].beyond.replace(beyond);
            // Only a crossing fires: the first value only says which side we start on.
            if before == Some(false) && beyond {
                let dir = if upward { "above" } else { "below" };
                let why = format!("{sensor} went {dir} {threshold} ({value})");
                out.merge(self.fire(i, why, clock));
            }
        }
        out
    }

    /// Time moved on to `now`: fires "empty for" rules that are due.
    pub fn advance(&mut self, now: Duration, clock: TimeOfDay) -> Outcome {
        let mut out = Outcome::default();
        for i in 0..self.rules.len() {
            let Trigger::EmptyFor { room, after } = self.rules[i].rule.trigger else { continue };
            let Some(since) = self.empty_since[room] else { continue };
            if !self.rules[i].done && now >= since + after {
                self.rules[i].done = true;
                let why = format!("{} empty for {} s", self.room_names[room], after.as_secs_f64());
                out.merge(self.fire(i, why, clock));
            }
        }
        out
    }

    /// When [`Automations::advance`] next has something to do.
    pub fn next_deadline(&self) -> Option<Duration> {
        self.rules
            .iter()
            .filter(|r| !r.done)
            .filter_map(|r| match r.rule.trigger {
                Trigger::EmptyFor { room, after } => self.empty_since[room].map(|s| s + after),
                _ => None,
            })
            .min()
    }

    fn fire(&self, i: usize, trigger: String, clock: TimeOfDay) -> Outcome {
        let rule = &self.rules[i].rule;
        for c in &rule.conditions {
            if let Some(because) = self.fails(c, clock) {
                return Outcome {
                    fired: Vec::new(),
                    skipped: vec![Skipped { rule: rule.id.clone(), because }],
                };
            }
        }
        Outcome {
            fired: vec![Firing { rule: rule.id.clone(), trigger, actions: rule.actions.clone() }],
            skipped: Vec::new(),
        }
    }

    /// Why `condition` does not hold, or `None` when it does.
    fn fails(&self, condition: &Condition, clock: TimeOfDay) -> Option<String> {
        match *condition {
            Condition::Time { after, before } => {
                let inside = if after < before {
                    clock >= after && clock < before
                } else {
                    // Wraps past midnight (or the whole day when equal).
                    clock >= after || clock < before
                };
                (!inside).then(|| format!("{clock} is not between {after} and {before}"))
            }
            Condition::Room { room, is } => {
                let now = Occupancy::of(self.occupied[room]);
                (now != is).then(|| {
                    format!("{} is {}, not {}", self.room_names[room], now.as_str(), is.as_str())
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::house::RoomSpec;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    fn room(id: &str) -> RoomSpec {
        RoomSpec {
            id: id.into(),
            name: id.into(),
            sources: Vec::new(),
            locator_rooms: Vec::new(),
            camera_veto: None,
        }
    }

    fn relay(on: bool) -> Action {
        Action::SetOutput {
            node: "n1".into(),
            output: "relay".into(),
            on,
            brightness: None,
            light: false,
        }
    }

    fn house(rules: Vec<Rule>) -> House {
        House { rooms: vec![room("kitchen"), room("lounge")], rules, ..House::default() }
    }

    fn rule(id: &str, trigger: Trigger, conditions: Vec<Condition>, on: bool) -> Rule {
        Rule { id: id.into(), trigger, conditions, actions: vec![relay(on)] }
    }

    const NOON: TimeOfDay = TimeOfDay(12 * 60);

    fn fired(o: &Outcome) -> Vec<&str> {
        o.fired.iter().map(|f| f.rule.as_str()).collect()
    }

    #[test]
    fn a_room_becoming_occupied_fires_its_rule_with_the_reason() {
        let h = house(vec![rule(
            "on",
            Trigger::Becomes { room: 0, to: Occupancy::Occupied },
            vec![],
            true,
        )]);
        let mut a = Automations::new(&h, secs(0.0));
        let o = a.room_changed(0, Occupancy::Occupied, secs(1.0), NOON);
        assert_eq!(o.fired[0].trigger, "kitchen became occupied");
        assert_eq!(o.fired[0].actions, vec![relay(true)]);
        assert!(a.room_changed(1, Occupancy::Occupied, secs(1.0), NOON).fired.is_empty());
    }

    #[test]
    fn empty_for_fires_once_per_empty_spell_and_counts_from_start() {
        let h = house(vec![rule(
            "off",
            Trigger::EmptyFor { room: 0, after: secs(10.0) },
            vec![],
            false,
        )]);
        let mut a = Automations::new(&h, secs(0.0));
        assert_eq!(a.next_deadline(), Some(secs(10.0)));
        assert!(a.advance(secs(9.0), NOON).fired.is_empty());
        assert_eq!(fired(&a.advance(secs(10.0), NOON)), vec!["off"]);
        assert!(a.advance(secs(30.0), NOON).fired.is_empty(), "once per spell");
        assert_eq!(a.next_deadline(), None);
        a.room_changed(0, Occupancy::Occupied, secs(40.0), NOON);
        assert!(a.advance(secs(100.0), NOON).fired.is_empty(), "not while occupied");
        a.room_changed(0, Occupancy::Empty, secs(100.0), NOON);
        assert_eq!(a.next_deadline(), Some(secs(110.0)));
        assert_eq!(fired(&a.advance(secs(110.5), NOON)), vec!["off"]);
    }

    #[test]
    fn a_threshold_fires_on_crossing_only() {
        let t = SensorRef::Gpio {
            node: "n1".into(),
            sensor: "bme".into(),
            quantity: "temperature".into(),
        };
        let h = house(vec![rule(
            "hot",
            Trigger::Crosses { sensor: t.clone(), threshold: 26.0, upward: true },
            vec![],
            true,
        )]);
        let mut a = Automations::new(&h, secs(0.0));
        assert!(a.sensor(&t, 27.0, NOON).fired.is_empty(), "starting above is not a crossing");
        assert!(a.sensor(&t, 25.0, NOON).fired.is_empty());
        assert!(a.sensor(&t, 26.0, NOON).fired.is_empty(), "at the threshold is not above");
        let o = a.sensor(&t, 26.5, NOON);
        assert_eq!(o.fired[0].trigger, "n1/bme/temperature went above 26 (26.5)");
        assert!(a.sensor(&t, 27.5, NOON).fired.is_empty(), "still above");
    }

    #[test]
    fn time_conditions_wrap_past_midnight() {
        let h = house(vec![rule(
            "night",
            Trigger::Becomes { room: 0, to: Occupancy::Occupied },
            vec![Condition::Time { after: TimeOfDay(22 * 60), before: TimeOfDay(6 * 60) }],
            true,
        )]);
        let mut a = Automations::new(&h, secs(0.0));
        for (clock, fires) in [(23 * 60, true), (3 * 60, true), (6 * 60, false), (NOON.0, false)] {
            let o = a.room_changed(0, Occupancy::Occupied, secs(1.0), TimeOfDay(clock));
            assert_eq!(!o.fired.is_empty(), fires, "{clock}");
            if !fires {
                assert!(o.skipped[0].because.contains("is not between 22:00 and 06:00"));
            }
        }
    }

    #[test]
    fn a_room_condition_reads_the_other_rooms_current_state() {
        let h = house(vec![rule(
            "only_if_lounge_empty",
            Trigger::Becomes { room: 0, to: Occupancy::Occupied },
            vec![Condition::Room { room: 1, is: Occupancy::Empty }],
            true,
        )]);
        let mut a = Automations::new(&h, secs(0.0));
        assert_eq!(a.room_changed(0, Occupancy::Occupied, secs(1.0), NOON).fired.len(), 1);
        a.room_changed(1, Occupancy::Occupied, secs(2.0), NOON);
        let o = a.room_changed(0, Occupancy::Occupied, secs(3.0), NOON);
        assert_eq!(o.skipped[0].because, "lounge is occupied, not empty");
    }
}
