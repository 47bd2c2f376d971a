SUMMARY = "roomsense: room presence from BLE, camera, microphone and sensors, over MQTT"
DESCRIPTION = "The roomsense multi-call binary and one systemd unit per service: node, ble, \
locate, vision, audio, gpio and rooms, each with only the privileges it needs."
HOMEPAGE = "https://example.invalid/roomsense"
SECTION = "net"
LICENSE = "Apache-2.0"
LIC_FILES_CHKSUM = "file://${COMMON_LICENSE_DIR}/Apache-2.0;md5=89aea4e17d99a7cacdbeed46a0096b10"

# The Cargo workspace. By default the checkout this layer sits in (externalsrc: the image is
# built from exactly the sources next to it). For a release from git, set in local.conf:
#   ROOMSENSE_SRC_URI = "git://<host>/<repo>.git;protocol=https;branch=main"
#   SRCREV:pn-roomsense = "<commit>"
PV = "0.1.0+git"
ROOMSENSE_SRC_URI ??= ""
SRC_URI = "${ROOMSENSE_SRC_URI} \
           file://roomsense-node.service \
           file://roomsense-ble.service \
           file://roomsense-locate.service \
           file://roomsense-vision.service \
           file://roomsense-audio.service \
           file://roomsense-gpio.service \
           file://roomsense-rooms.service \
           file://services \
           file://roomsense.sysusers \
           file://60-roomsense.rules \
           file://roomsense-ble.conf \
           "
ROOMSENSE_SRC_CLASS = "${@'' if d.getVar('ROOMSENSE_SRC_URI') else 'externalsrc'}"
EXTERNALSRC = "${ROOMSENSE_WORKSPACE}"
EXTERNALSRC_BUILD = "${WORKDIR}/build"

inherit cargo cargo-update-recipe-crates systemd useradd
# nooelint: oelint.var.improperinherit
inherit_defer ${ROOMSENSE_SRC_CLASS}

require ${BPN}-crates.inc

# The whole workspace at the root; only the binary is built and installed.
CARGO_SRC_DIR = ""
CARGO_BUILD_FLAGS:append = " --package roomsense"

# Cargo features that link C libraries, named for what they link (DESIGN.md). They exist in the
# binary once the services that need them land; add them to PACKAGECONFIG then.
PACKAGECONFIG ??= ""
PACKAGECONFIG[bluez] = "--features roomsense/bluez,,dbus,bluez5"
PACKAGECONFIG[gstreamer] = "--features roomsense/gstreamer,,gstreamer1.0 gstreamer1.0-plugins-base,gstreamer1.0-plugins-good"
PACKAGECONFIG[alsa] = "--features roomsense/alsa,,alsa-lib"

# The services the image starts: those the binary has. The others' units are installed but
# not enabled (boot-check only waits for enabled ones).
ROOMSENSE_SERVICES ??= "node"
SYSTEMD_SERVICE:${PN} = "${@' '.join('roomsense-%s.service' % s for s in d.getVar('ROOMSENSE_SERVICES').split())}"
SYSTEMD_AUTO_ENABLE = "enable"

# One user per service, all in group roomsense (see files/roomsense.sysusers).
USERADD_PACKAGES = "${PN}"
GROUPADD_PARAM:${PN} = "--system roomsense; --system gpio; --system i2c"
USERADD_PARAM:${PN} = "\
    --system --no-create-home --home-dir / --shell /sbin/nologin --gid roomsense roomsense-node; \
    --system --no-create-home --home-dir / --shell /sbin/nologin --gid roomsense roomsense-ble; \
    --system --no-create-home --home-dir / --shell /sbin/nologin --gid roomsense roomsense-locate; \
    --system --no-create-home --home-dir / --shell /sbin/nologin --gid roomsense roomsense-vision; \
    --system --no-create-home --home-dir / --shell /sbin/nologin --gid roomsense roomsense-audio; \
    --system --no-create-home --home-dir / --shell /sbin/nologin --gid roomsense roomsense-gpio; \
    --system --no-create-home --home-dir / --shell /sbin/nologin --gid roomsense roomsense-rooms"

do_install:append() {
    install -d ${D}${systemd_system_unitdir}
    for unit in ${UNPACKDIR}/roomsense-*.service; do
        install -m 0644 "$unit" ${D}${systemd_system_unitdir}/
    done
    install -D -m 0644 ${UNPACKDIR}/services ${D}${nonarch_libdir}/roomsense/services
    install -D -m 0644 ${UNPACKDIR}/roomsense.sysusers ${D}${nonarch_libdir}/sysusers.d/roomsense.conf
    install -D -m 0644 ${UNPACKDIR}/60-roomsense.rules ${D}${nonarch_base_libdir}/udev/rules.d/60-roomsense.rules
    install -D -m 0644 ${UNPACKDIR}/roomsense-ble.conf ${D}${datadir}/dbus-1/system.d/roomsense-ble.conf
}

FILES:${PN} += "${nonarch_libdir}/roomsense ${nonarch_libdir}/sysusers.d \
    ${nonarch_base_libdir}/udev/rules.d ${datadir}/dbus-1/system.d"

# The bundled broker (its config and `roomsense broker init`'s output: recipes-connectivity/
# mosquitto) and the tools the first boot uses.
RDEPENDS:${PN} += "mosquitto roomsense-system"
