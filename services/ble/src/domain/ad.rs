//! Parser for raw advertising data (a sequence of AD structures) into an [`Advertisement`].

use super::advert::Advertisement;
use super::uuid::BleUuid;
use crate::error::AdError;

/// The longest payload accepted: an extended advertisement's maximum data length.
const MAX_LEN: usize = 1650;

/// Iterates over the AD structures of `data`, yielding `(ad_type, data)`; a zero length byte ends
/// the significant part (the rest is padding).
#[derive(Debug, Clone)]
pub struct AdStructures<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> AdStructures<'a> {
    /// Starts iterating over `data`.
    pub fn new(data: &'a [u8]) -> AdStructures<'a> {
        AdStructures { data, pos: 0 }
    }
}

impl<'a> Iterator for AdStructures<'a> {
    type Item = Result<(u8, &'a [u8]), AdError>;

    fn next(&mut self) -> Option<Self::Item> {
        let offset = self.pos;
        let len = *self.data.get(offset)? as usize;
        if len == 0 {
            self.pos = self.data.len();
            return None;
        }
        let end = offset + 1 + len;
        if end > self.data.len() {
            self.pos = self.data.len();
            return Some(Err(AdError::Truncated { offset: offset as u16 }));
        }
        self.pos = end;
        Some(Ok((self.data[offset + 1], &self.data[offset + 2..end])))
    }
}

fn bad(ad_type: u8, data: &[u8]) -> AdError {
    AdError::BadLength { ad_type, len: data.len().min(255) as u8 }
}

/// Adds the AD structures of `data` (advertising data or scan response) to `adv`. On error `adv`
/// may hold part of the fields; callers drop it.
pub fn parse_ad_into(data: &[u8], adv: &mut Advertisement) -> Result<(), AdError> {
    if data.len() > MAX_LEN {
        return Err(AdError::TooLong);
    }
    for item in AdStructures::new(data) {
        let (ad_type, d) = item?;
        match ad_type {
            // Incomplete/complete lists of 16-, 32- and 128-bit service UUIDs.
            0x02..=0x07 => {
                let size = match ad_type {
                    0x02 | 0x03 => 2,
                    0x04 | 0x05 => 4,
                    _ => 16,
                };
                if d.len() % size != 0 {
                    return Err(bad(ad_type, d));
                }
                for chunk in d.chunks_exact(size) {
                    adv.uuids.extend(BleUuid::from_le_slice(chunk));
                }
            }
            // Shortened / complete local name; a complete name wins over a shortened one.
            0x08 | 0x09 if ad_type == 0x09 || adv.name.is_none() => {
                adv.name = Some(String::from_utf8_lossy(d).into_owned());
            }
            0x0a => match d {
                [p] => adv.tx_power = Some(*p as i8),
                _ => return Err(bad(ad_type, d)),
            },
            // Service data with a 16-, 32- or 128-bit UUID.
            0x16 | 0x20 | 0x21 => {
                let size = match ad_type {
                    0x16 => 2,
                    0x20 => 4,
                    _ => 16,
                };
                if d.len() < size {
                    return Err(bad(ad_type, d));
                }
                let uuid = BleUuid::from_le_slice(&d[..size]).ok_or(bad(ad_type, d))?;
                adv.svc_data.push((uuid, d[size..].to_vec()));
            }
            0xff => {
                if d.len() < 2 {
                    return Err(bad(ad_type, d));
                }
                adv.mfg.push((u16::from_le_bytes([d[0], d[1]]), d[2..].to_vec()));
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::address::{Address, AddressType};
    use crate::domain::hex;

    fn adv() -> Advertisement {
        Advertisement::new(0, Address([0x40, 0, 0, 0, 0, 1]), AddressType::Random, -60)
    }

    #[test]
    fn name_uuids_tx_power_and_manufacturer_data_are_decoded() {
        let mut a = adv();
        let ad = hex::decode("020a04160950726f646967696f5f443833353637413446354135").unwrap();
        parse_ad_into(&ad, &mut a).unwrap();
        let sr =
            hex::decode("02010611061bc5d5a50200aa9de3112af21019aa0609ff0225440980070002").unwrap();
        parse_ad_into(&sr, &mut a).unwrap();
        assert_eq!(a.name.as_deref(), Some("Prodigio_D83567A4F5A5"));
        assert_eq!(a.tx_power, Some(4));
        assert_eq!(a.uuids, vec![BleUuid::parse("06aa1910-f22a-11e3-9daa-0002a5d5c51b").unwrap()]);
        assert_eq!(a.mfg, vec![(9474, hex::decode("440980070002").unwrap())]);
    }

    #[test]
    fn service_data_keeps_the_bytes_after_the_uuid() {
        let mut a = adv();
        parse_ad_into(&hex::decode("06163dfd670064").unwrap(), &mut a).unwrap();
        assert_eq!(a.svc_data, vec![(BleUuid::U16(0xfd3d), vec![0x67, 0x00, 0x64])]);
    }

    #[test]
    fn a_length_past_the_end_is_truncated() {
        assert_eq!(
            parse_ad_into(&[0x02, 0x01, 0x06, 0x05, 0xff, 0x4c], &mut adv()),
            Err(AdError::Truncated { offset: 3 })
        );
    }

    #[test]
    fn impossible_field_lengths_are_rejected() {
        assert_eq!(
            parse_ad_into(&[0x04, 0x03, 1, 2, 3], &mut adv()),
            Err(AdError::BadLength { ad_type: 3, len: 3 })
        );
        assert_eq!(
            parse_ad_into(&[0x02, 0xff, 0x4c], &mut adv()),
            Err(AdError::BadLength { ad_type: 0xff, len: 1 })
        );
        assert_eq!(
            parse_ad_into(&[0x03, 0x0a, 1, 2], &mut adv()),
            Err(AdError::BadLength { ad_type: 0x0a, len: 2 })
        );
        assert_eq!(
            parse_ad_into(&[0x02, 0x16, 1], &mut adv()),
            Err(AdError::BadLength { ad_type: 0x16, len: 1 })
        );
        assert_eq!(parse_ad_into(&vec![0u8; 2000], &mut adv()), Err(AdError::TooLong));
    }

    #[test]
    fn zero_length_structure_ends_the_payload() {
        let mut a = adv();
        parse_ad_into(&[0x00, 0xff, 0xff, 0xff], &mut a).unwrap();
        assert_eq!(a, adv());
    }
}
