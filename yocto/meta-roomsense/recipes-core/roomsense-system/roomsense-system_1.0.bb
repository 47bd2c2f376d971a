SUMMARY = "roomsense plumbing: /data, first boot, hostname, Wi-Fi, boot check, rollback"
DESCRIPTION = "Mount units for the boot and data partitions, growing /data to the card, \
persistent /var/lib on a read-only root, the first-boot provisioning from roomsense.toml on \
the boot partition, the boot health check that gates RAUC's mark-good, the rollback, mDNS \
announcement and network configuration."
HOMEPAGE = "https://example.invalid/roomsense"
LICENSE = "Apache-2.0"
LIC_FILES_CHKSUM = "file://${COMMON_LICENSE_DIR}/Apache-2.0;md5=89aea4e17d99a7cacdbeed46a0096b10"

SRC_URI = "\
    file://boot.mount \
    file://data.mount \
    file://roomsense-grow-data.service \
    file://roomsense-var-lib.service \
    file://roomsense-hostname.service \
    file://roomsense-firstboot.service \
    file://roomsense-boot-check.service \
    file://roomsense-rollback.service \
    file://roomsense-wifi.service \
    file://grow-data \
    file://persist \
    file://firstboot \
    file://boot-check \
    file://rollback \
    file://roomsense-avahi.service.xml \
    file://80-roomsense-wired.network \
    file://80-roomsense-wireless.network \
    file://roomsense-watchdog.conf \
"

S = "${UNPACKDIR}"

inherit allarch systemd

SYSTEMD_SERVICE:${PN} = "boot.mount data.mount roomsense-grow-data.service roomsense-var-lib.service \
    roomsense-hostname.service roomsense-firstboot.service roomsense-boot-check.service \
    roomsense-wifi.service"
SYSTEMD_AUTO_ENABLE = "enable"

do_install() {
    install -d ${D}${systemd_system_unitdir} ${D}${libexecdir}/roomsense
    for unit in boot.mount data.mount roomsense-grow-data.service roomsense-var-lib.service \
                roomsense-hostname.service roomsense-firstboot.service roomsense-boot-check.service \
                roomsense-rollback.service roomsense-wifi.service; do
        install -m 0644 ${UNPACKDIR}/$unit ${D}${systemd_system_unitdir}/
    done
    for script in grow-data persist firstboot boot-check rollback; do
        install -m 0755 ${UNPACKDIR}/$script ${D}${libexecdir}/roomsense/
    done
    install -D -m 0644 ${UNPACKDIR}/roomsense-avahi.service.xml ${D}${sysconfdir}/avahi/services/roomsense.service
    install -d ${D}${systemd_unitdir}/network
    install -m 0644 ${UNPACKDIR}/80-roomsense-wired.network ${UNPACKDIR}/80-roomsense-wireless.network \
        ${D}${systemd_unitdir}/network/
    install -D -m 0644 ${UNPACKDIR}/roomsense-watchdog.conf ${D}${systemd_unitdir}/system.conf.d/roomsense-watchdog.conf

    # Mount points on the read-only root, and the config's home on /data.
    install -d ${D}/data ${D}/boot
    ln -sf /data/etc/roomsense ${D}${sysconfdir}/roomsense
    # What `roomsense broker init` writes for the bundled Mosquitto ([broker] config_dir).
    install -d ${D}${sysconfdir}/mosquitto
    ln -sf /data/etc/mosquitto ${D}${sysconfdir}/mosquitto/roomsense
}

FILES:${PN} += "/data /boot ${systemd_unitdir}/network ${systemd_unitdir}/system.conf.d \
    ${sysconfdir}/roomsense ${sysconfdir}/mosquitto/roomsense ${sysconfdir}/avahi/services"

# grow-data: sfdisk, partx, resize2fs; persist: mountpoint, cp; Wi-Fi: wpa_supplicant.
RDEPENDS:${PN} += "avahi-daemon e2fsprogs-resize2fs util-linux-mountpoint util-linux-partx \
    util-linux-sfdisk wpa-supplicant"
