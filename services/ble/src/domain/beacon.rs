//! The node's own ESPresense iBeacon, so ESPresense nodes and Companion can range to this node
//! (node-to-node calibration), and the retained config that names it `node:<room>`.

use super::address::Address;
use super::payload::DeviceConfig;
use super::uuid::BleUuid;

/// ESPresense's node beacon UUID `e5ca1ade-f007-ba11-0000-000000000000`.
pub const NODE_BEACON_UUID: [u8; 16] =
    [0xe5, 0xca, 0x1a, 0xde, 0xf0, 0x07, 0xba, 0x11, 0, 0, 0, 0, 0, 0, 0, 0];

/// The iBeacon this node advertises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeBeacon {
    /// Upper 16 bits of the node number.
    pub major: u16,
    /// Lower 16 bits of the node number.
    pub minor: u16,
    /// Power byte: the node's `tx_ref_rssi` (RSSI at 1 m), dBm.
    pub tx_ref_rssi: i8,
}

impl NodeBeacon {
    /// A beacon numbered from the node's adapter address, as ESPresense numbers its beacon from
    /// the chip MAC: the low 24 bits, split into major (upper 16 bits) and minor (lower 16 bits).
    pub fn from_address(addr: &Address, tx_ref_rssi: i16) -> NodeBeacon {
        let a = addr.0;
        let v = u32::from_be_bytes([0, a[3], a[4], a[5]]);
        NodeBeacon {
            major: (v >> 16) as u16,
            minor: v as u16,
            tx_ref_rssi: tx_ref_rssi.clamp(-128, 127) as i8,
        }
    }

    /// Manufacturer data after Apple's company id 0x004c: `02 15`, UUID, major, minor (BE), power.
    pub fn manufacturer_data(&self) -> Vec<u8> {
        let mut d = Vec::with_capacity(23);
        d.extend_from_slice(&[0x02, 0x15]);
        d.extend_from_slice(&NODE_BEACON_UUID);
        d.extend_from_slice(&self.major.to_be_bytes());
        d.extend_from_slice(&self.minor.to_be_bytes());
        d.push(self.tx_ref_rssi as u8);
        d
    }

    /// The id other nodes derive for this beacon.
    pub fn id(&self) -> String {
        format!("iBeacon:{}-{}-{}", BleUuid::U128(NODE_BEACON_UUID), self.major, self.minor)
    }

    /// The retained topic that aliases the beacon to `node:<room>`.
    pub fn config_topic(&self) -> String {
        format!("espresense/settings/{}/config", self.id())
    }

    /// The retained payload for [`NodeBeacon::config_topic`].
    pub fn config(room_slug: &str, room_name: &str) -> DeviceConfig {
        DeviceConfig {
            id: Some(format!("node:{room_slug}")),
            name: Some(room_name.to_string()),
            rssi_1m: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::address::AddressType;
    use crate::domain::advert::Advertisement;
    use crate::domain::settings::NodeSettings;
    use crate::domain::tracker::{Now, Tracker};

    #[test]
    fn another_node_reports_our_beacon_as_node_room_even_beyond_max_distance() {
        let addr = Address::parse("dc:a6:32:12:34:56").unwrap();
        let b = NodeBeacon::from_address(&addr, -59);
        assert_eq!((b.major, b.minor), (0x12, 0x3456));
        assert_eq!(b.id(), "iBeacon:e5ca1ade-f007-ba11-0000-000000000000-18-13398");

        let mut other = Tracker::new(
            NodeSettings { skip_ms: 0, max_distance: 1.0, ..NodeSettings::default() },
            16,
        );
        let cfg = serde_json::to_vec(&NodeBeacon::config("kitchen", "Kitchen")).unwrap();
        other.apply_device_config(&b.id(), &cfg, Now::from_wall(0)).unwrap();
        let mut adv = Advertisement::new(0, addr, AddressType::Public, -90);
        adv.mfg.push((0x004c, b.manufacturer_data()));
        let r = other.handle(&adv, Now::from_wall(0)).expect("node ids are always reported");
        assert_eq!((r.id.as_str(), r.payload.rssi_1m), ("node:kitchen", -59));
        assert_eq!(r.payload.name.as_deref(), Some("Kitchen"));
        assert!(r.payload.distance > 1.0);
    }
}
