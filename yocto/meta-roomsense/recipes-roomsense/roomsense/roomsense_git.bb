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
           file://roomsense-broker-init.service \
           file://mosquitto-roomsense.conf \
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

# The board's core for rustc: tract's kernels (vision, audio) gain most from it. oe-core gives
# rustc no CPU for any aarch64 tune: rust-target-config.bbclass's llvm_cpu() is "generic" unless
# PACKAGE_ARCH is one of a few x86/mips/ppc/riscv names, and llvm_features_from_tune() adds
# nothing for cortexa53/a72/a76. So each roomsense machine names its core (LLVM's name) and the
# crypto extensions LLVM's model of that core has but the SoC lacks; roomsense_rust_cpu_flags()
# checks both against TUNE_FEATURES when the recipe is parsed.
ROOMSENSE_RUST_CPU ??= ""
ROOMSENSE_RUST_FEATURES ??= ""
RUSTFLAGS:append = " ${@roomsense_rust_cpu_flags(d)}"

def roomsense_rust_cpu_flags(d):
    cpu = d.getVar('ROOMSENSE_RUST_CPU') or ''
    features = d.getVar('ROOMSENSE_RUST_FEATURES') or ''
    if not cpu:
        return ''
    tune = (d.getVar('TUNE_FEATURES') or '').split()
    if cpu.replace('-', '') not in tune:
        bb.fatal('ROOMSENSE_RUST_CPU = "%s" does not match TUNE_FEATURES "%s"' % (cpu, ' '.join(tune)))
    crypto_off = '-aes' in features.split(',') and '-sha2' in features.split(',')
    if 'nocrypto' in tune and not crypto_off:
        bb.fatal('TUNE_FEATURES has nocrypto: ROOMSENSE_RUST_FEATURES must turn off aes and sha2 (LLVM\'s %s has them)' % cpu)
    if 'nocrypto' not in tune and 'crypto' not in tune:
        bb.fatal('TUNE_FEATURES "%s" says neither crypto nor nocrypto: pick a tune that does' % ' '.join(tune))
    if 'crypto' in tune and crypto_off:
        bb.fatal('TUNE_FEATURES has crypto: ROOMSENSE_RUST_FEATURES should not turn aes and sha2 off')
    flags = '-C target-cpu=%s' % cpu
    if features:
        flags += ' -C target-feature=%s' % features
    return flags

# Cargo features that link C libraries, named for what they link (DESIGN.md): BlueZ for the ble
# service, GStreamer for the vision service's cameras, ALSA for the audio service's microphones.
PACKAGECONFIG ??= "bluez gstreamer alsa"
PACKAGECONFIG[bluez] = "--features roomsense/bluez,,dbus,bluez5"
PACKAGECONFIG[gstreamer] = "--features roomsense/gstreamer,,gstreamer1.0 gstreamer1.0-plugins-base,gstreamer1.0-plugins-good"
PACKAGECONFIG[alsa] = "--features roomsense/alsa,,alsa-lib"

# The services the image starts: those that run on a new card with nothing configured but the
# board's own hardware (every board here has Bluetooth; boot-test boots these but ble, which has
# no adapter in qemu). locate, vision, gpio and audio need their section of roomsense.toml (a
# house, cameras, a board, microphones) first: add them here for your image. The others' units
# are installed but not enabled (boot-check only waits for enabled ones).
ROOMSENSE_SERVICES ??= "node ble rooms"
SYSTEMD_SERVICE:${PN} = "roomsense-broker-init.service \
    ${@' '.join('roomsense-%s.service' % s for s in d.getVar('ROOMSENSE_SERVICES').split())}"
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
    install -D -m 0644 ${UNPACKDIR}/mosquitto-roomsense.conf \
        ${D}${systemd_system_unitdir}/mosquitto.service.d/roomsense.conf
}

FILES:${PN} += "${nonarch_libdir}/roomsense ${nonarch_libdir}/sysusers.d \
    ${nonarch_base_libdir}/udev/rules.d ${datadir}/dbus-1/system.d"

# The bundled broker (its config and `roomsense broker init`'s output: recipes-connectivity/
# mosquitto) and the tools the first boot uses.
RDEPENDS:${PN} += "mosquitto roomsense-system"
