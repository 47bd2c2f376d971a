SUMMARY = "U-Boot script that boots root slot A or B for RAUC"
DESCRIPTION = "boot.scr for the FAT boot partition: picks the root slot by BOOT_ORDER and \
the tries each slot has left, and boots the kernel and device tree from that slot."
HOMEPAGE = "https://example.invalid/roomsense"
LICENSE = "Apache-2.0"
LIC_FILES_CHKSUM = "file://${COMMON_LICENSE_DIR}/Apache-2.0;md5=89aea4e17d99a7cacdbeed46a0096b10"

DEPENDS = "u-boot-mkimage-native"
INHIBIT_DEFAULT_DEPS = "1"
PROVIDES += "u-boot-default-script"

SRC_URI = "file://boot.cmd.in"
S = "${UNPACKDIR}"

inherit deploy nopackages

# Set by the machine (conf/machine/roomsense-*.conf).
ROOMSENSE_FDT_SOURCE ??= "firmware"
ROOMSENSE_FDT_FILE ??= ""
ROOMSENSE_CONSOLE ??= "${@d.getVar('SERIAL_CONSOLES').split(';')[-1].split()[0] if d.getVar('SERIAL_CONSOLES') else 'tty1'},115200"

do_compile() {
    sed -e 's|@@KERNEL_IMAGETYPE@@|${KERNEL_IMAGETYPE}|g' \
        -e 's|@@MMC@@|${ROOMSENSE_ROOT_MMC}|g' \
        -e 's|@@ROOT_DISK@@|${ROOMSENSE_ROOT_DISK}|g' \
        -e 's|@@FDT_SOURCE@@|${ROOMSENSE_FDT_SOURCE}|g' \
        -e 's|@@FDT_FILE@@|${ROOMSENSE_FDT_FILE}|g' \
        -e 's|@@CONSOLE@@|${ROOMSENSE_CONSOLE}|g' \
        ${UNPACKDIR}/boot.cmd.in > ${B}/boot.cmd
    mkimage -A arm64 -T script -C none -n "roomsense A/B boot" -d ${B}/boot.cmd ${B}/boot.scr
}

do_deploy() {
    install -D -m 0644 ${B}/boot.scr ${DEPLOYDIR}/boot.scr
}
addtask deploy after do_compile before do_build

PACKAGE_ARCH = "${MACHINE_ARCH}"
