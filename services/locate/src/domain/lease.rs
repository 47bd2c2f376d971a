//! Which of several locators publishes: a lease on one retained topic, renewed, with expiry.
//!
//! The shell subscribes to the lease topic (e.g. `roomsense/locate/lease`), feeds every message
//! to [`Lease::observe`], calls [`Lease::tick`] about once a second, publishes (retained) what
//! they return, and publishes device locations only while [`Lease::is_leader`].
//!
//! Expiry is measured on each locator's own clock from when it *received* the lease (the payload
//! carries a duration, not a time), so clocks need not agree. Ties (two claims at once) go to
//! the smaller holder id; a locator becomes leader only once its own claim comes back from the
//! broker, so a locator cut off from the broker never thinks it leads.

use serde::{Deserialize, Serialize};

use crate::config::LeaseConfig;

/// The retained payload: `{"holder":"<node>","ttl_ms":10000}`; an empty payload releases it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseClaim {
    /// Node id of the locator holding (or claiming) the lease.
    pub holder: String,
    /// How long the lease holds from when it is received (ms).
    pub ttl_ms: u64,
}

/// This locator's part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Another locator publishes (or none yet, while we wait for the retained lease).
    Standby,
    /// We published a claim and wait for it to come back.
    Claiming,
    /// We publish.
    Leader,
}

/// The lease state machine of one locator.
#[derive(Debug, Clone)]
pub struct Lease {
    me: String,
    cfg: LeaseConfig,
    role: Role,
    /// The holder we last saw and when their lease runs out (our clock).
    holder: Option<(String, u64)>,
    started_ms: Option<u64>,
    last_publish_ms: u64,
}

impl Lease {
    /// A lease participant with node id `me`.
    pub fn new(me: &str, cfg: LeaseConfig) -> Self {
        Lease {
            me: me.to_owned(),
            cfg,
            role: Role::Standby,
            holder: None,
            started_ms: None,
            last_publish_ms: 0,
        }
    }

    /// Whether this locator should publish device locations now.
    pub fn is_leader(&self) -> bool {
        self.role == Role::Leader
    }

    /// Current role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// A message on the lease topic arrived at `now_ms`; returns a claim to publish, if any.
    pub fn observe(&mut self, payload: &[u8], now_ms: u64) -> Option<LeaseClaim> {
        self.started_ms.get_or_insert(now_ms);
        if payload.is_empty() {
            self.holder = None;
            return (self.role != Role::Leader).then(|| self.claim(now_ms));
        }
        // A payload we cannot read is treated as no lease: it will be overwritten by a claim.
        let Ok(seen) = serde_json::from_slice::<LeaseClaim>(payload) else {
            self.holder = None;
            return None;
        };
        let expires = now_ms.saturating_add(seen.ttl_ms);
        if seen.holder == self.me {
            self.role = Role::Leader;
            self.holder = Some((seen.holder, expires));
            return None;
        }
        let they_win = seen.holder < self.me;
        self.holder = Some((seen.holder, expires));
        match self.role {
            Role::Standby => None,
            Role::Claiming | Role::Leader if they_win => {
                self.role = Role::Standby;
                None
            }
            // We win the tie: say so again at once.
            Role::Claiming | Role::Leader => Some(self.claim(now_ms)),
        }
    }

    /// Time passes; returns a claim or renewal to publish, if due.
    pub fn tick(&mut self, now_ms: u64) -> Option<LeaseClaim> {
        let started = *self.started_ms.get_or_insert(now_ms);
        match self.role {
            Role::Leader | Role::Claiming => (now_ms.saturating_sub(self.last_publish_ms)
                >= self.cfg.renew_ms)
                .then(|| self.claim(now_ms)),
            Role::Standby => {
                // Give the broker one renew period to deliver the retained lease before claiming.
                if now_ms.saturating_sub(started) < self.cfg.renew_ms {
                    return None;
                }
                let free = self.holder.as_ref().is_none_or(|(_, expires)| now_ms > *expires);
                free.then(|| self.claim(now_ms))
            }
        }
    }

    fn claim(&mut self, now_ms: u64) -> LeaseClaim {
        if self.role == Role::Standby {
            self.role = Role::Claiming;
        }
        self.last_publish_ms = now_ms;
        LeaseClaim { holder: self.me.clone(), ttl_ms: self.cfg.ttl_ms }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(c: &LeaseClaim) -> Vec<u8> {
        serde_json::to_vec(c).expect("serializes")
    }

    /// A broker holding one retained message, delivering to everyone.
    fn run(
        locators: &mut [Lease],
        alive: &[bool],
        from_ms: u64,
        to_ms: u64,
        retained: &mut Vec<u8>,
    ) {
        for now in (from_ms..to_ms).step_by(500) {
            for i in 0..locators.len() {
                if !alive[i] {
                    continue;
                }
                if let Some(c) = locators[i].tick(now) {
                    *retained = json(&c);
                    for (j, l) in locators.iter_mut().enumerate() {
                        if alive[j]
                            && let Some(c2) = l.observe(retained, now)
                        {
                            *retained = json(&c2);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn of_three_locators_exactly_one_leads() {
        let cfg = LeaseConfig::default();
        let mut ls =
            vec![Lease::new("c", cfg.clone()), Lease::new("a", cfg.clone()), Lease::new("b", cfg)];
        let mut retained = Vec::new();
        run(&mut ls, &[true; 3], 0, 30_000, &mut retained);
        let leaders: Vec<&str> =
            ls.iter().filter(|l| l.is_leader()).map(|l| l.me.as_str()).collect();
        assert_eq!(leaders.len(), 1, "{leaders:?}");
    }

    #[test]
    fn when_the_leader_dies_another_takes_over_within_the_ttl_plus_a_renewal() {
        let cfg = LeaseConfig::default();
        let mut ls = vec![Lease::new("a", cfg.clone()), Lease::new("b", cfg.clone())];
        let mut retained = Vec::new();
        run(&mut ls, &[true, true], 0, 20_000, &mut retained);
        let leader = ls.iter().position(|l| l.is_leader()).expect("a leader");
        let mut alive = [true, true];
        alive[leader] = false;
        let other = 1 - leader;
        run(&mut ls, &alive, 20_000, 20_000 + cfg.ttl_ms + cfg.renew_ms + 1_000, &mut retained);
        assert!(ls[other].is_leader());
    }

    #[test]
    fn a_locator_does_not_lead_until_its_claim_comes_back() {
        let mut l = Lease::new("a", LeaseConfig::default());
        assert_eq!(l.tick(0), None);
        let claim = l.tick(5_000).expect("claims a free lease");
        assert_eq!(l.role(), Role::Claiming);
        assert_eq!(l.observe(&json(&claim), 5_050), None);
        assert!(l.is_leader());
    }

    #[test]
    fn a_smaller_id_wins_a_tie_and_the_other_steps_down() {
        let mut b = Lease::new("b", LeaseConfig::default());
        b.tick(0);
        b.tick(5_000).expect("claims");
        let a_claim = LeaseClaim { holder: "a".into(), ttl_ms: 10_000 };
        assert_eq!(b.observe(&json(&a_claim), 5_010), None);
        assert_eq!(b.role(), Role::Standby);
    }

    #[test]
    fn garbage_on_the_lease_topic_does_not_panic() {
        let mut l = Lease::new("a", LeaseConfig::default());
        assert_eq!(l.observe(b"\xff{not json", 0), None);
        assert!(!l.is_leader());
    }
}
