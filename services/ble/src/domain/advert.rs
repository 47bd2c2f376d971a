//! One received advertisement, decoded: the input of the pipeline, whatever the source.

use super::address::{Address, AddressType};
use super::uuid::BleUuid;

/// One advertisement (advertising data plus scan response, as the source merged them), stamped at
/// the edge with the wall-clock time it was received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advertisement {
    /// Receive time, Unix milliseconds (wall clock; replay uses the trace's own).
    pub ts_ms: u64,
    /// Advertiser address.
    pub addr: Address,
    /// Public or random.
    pub addr_type: AddressType,
    /// Received signal strength, dBm.
    pub rssi: i8,
    /// The TX Power Level AD, dBm, if advertised.
    pub tx_power: Option<i8>,
    /// Complete or shortened local name, if advertised.
    pub name: Option<String>,
    /// Manufacturer data in advertised order: company id and the bytes after it.
    pub mfg: Vec<(u16, Vec<u8>)>,
    /// Service data in advertised order: UUID and the bytes after it.
    pub svc_data: Vec<(BleUuid, Vec<u8>)>,
    /// The service-UUID list (AD types 0x02–0x07).
    pub uuids: Vec<BleUuid>,
}

impl Advertisement {
    /// An advertisement with no payload, for building one field by field.
    pub fn new(ts_ms: u64, addr: Address, addr_type: AddressType, rssi: i8) -> Advertisement {
        Advertisement {
            ts_ms,
            addr,
            addr_type,
            rssi,
            tx_power: None,
            name: None,
            mfg: Vec::new(),
            svc_data: Vec::new(),
            uuids: Vec::new(),
        }
    }
}
