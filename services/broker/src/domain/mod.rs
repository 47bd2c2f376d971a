//! Pure parts.
pub(crate) mod files;
pub(crate) mod manifest;
pub(crate) mod passwd;
pub(crate) mod template;
