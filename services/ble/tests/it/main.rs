//! Integration tests of roomsense-ble.
