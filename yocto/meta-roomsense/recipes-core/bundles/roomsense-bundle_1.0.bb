SUMMARY = "roomsense update bundle: the root filesystem for the other RAUC slot"
DESCRIPTION = "A signed RAUC bundle (verity format) of roomsense-image's root filesystem, \
installed with `rauc install` into the slot that is not running."
HOMEPAGE = "https://example.invalid/roomsense"
LICENSE = "MIT"

# The bundle is made from the image; it fetches nothing of its own.
# nooelint: oelint.var.mandatoryvar.SRC_URI
SRC_URI = ""

inherit bundle

RAUC_BUNDLE_COMPATIBLE = "${ROOMSENSE_RAUC_COMPATIBLE}"
RAUC_BUNDLE_VERSION = "${DISTRO_VERSION}"
RAUC_BUNDLE_DESCRIPTION = "roomsense ${DISTRO_VERSION} for ${MACHINE}"
RAUC_BUNDLE_FORMAT = "verity"
RAUC_BUNDLE_SLOTS = "rootfs"
RAUC_SLOT_rootfs = "roomsense-image"
RAUC_SLOT_rootfs[fstype] = "ext4"

# Signed with the user's key, from outside the checkout (yocto/scripts/make-update-keys).
RAUC_KEY_FILE = "${ROOMSENSE_RAUC_KEYS}/signing.key.pem"
RAUC_CERT_FILE = "${ROOMSENSE_RAUC_KEYS}/signing.cert.pem"
