//! BlueZ through bluer (feature `bluez`).
