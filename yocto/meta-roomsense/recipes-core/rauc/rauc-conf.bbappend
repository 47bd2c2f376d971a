# roomsense's RAUC system.conf and the keyring that checks bundle signatures. The keyring is
# the CA certificate of the key that signs bundles: never a private key, and never from this
# repository. The distro takes it from ROOMSENSE_RAUC_KEYS (a directory outside the checkout,
# made by yocto/scripts/make-update-keys); without it the build stops here and says so.
FILESEXTRAPATHS:prepend:roomsense-os := "${THISDIR}/files:"
SRC_URI:append:roomsense-os = " file://system.conf.in"
SRC_URI:append:roomsense-coral = " file://fw_env.config.coral"

RAUC_KEYRING_FILE:roomsense-os = "keyring.pem"
RAUC_KEYRING_URI:roomsense-os = ""
PACKAGE_ARCH:roomsense-os = "${MACHINE_ARCH}"
# Rebuild when the user's CA certificate changes.
do_install[file-checksums] += "${@(d.getVar('ROOMSENSE_RAUC_KEYRING') + ':True') if d.getVar('ROOMSENSE_RAUC_KEYRING') else ''}"

do_install:prepend:roomsense-os() {
    if [ ! -s "${ROOMSENSE_RAUC_KEYRING}" ]; then
        bbfatal "no update CA certificate: set ROOMSENSE_RAUC_KEYS to the directory yocto/scripts/make-update-keys wrote (yocto/README.md, Update keys)"
    fi
    install -m 0644 "${ROOMSENSE_RAUC_KEYRING}" ${UNPACKDIR}/keyring.pem
    sed -e 's|@@COMPATIBLE@@|${ROOMSENSE_RAUC_COMPATIBLE}|g' \
        -e 's|@@ROOT_DISK@@|${ROOMSENSE_ROOT_DISK}|g' \
        ${UNPACKDIR}/system.conf.in > ${UNPACKDIR}/system.conf
}

# RAUC writes U-Boot's environment with fw_setenv; on the Pi meta-raspberrypi ships the
# fw_env.config (uboot.env on the boot partition), on the Coral we do.
do_install:append:roomsense-coral() {
    install -D -m 0644 ${UNPACKDIR}/fw_env.config.coral ${D}${sysconfdir}/fw_env.config
}
FILES:${PN}:append:roomsense-coral = " ${sysconfdir}/fw_env.config"
