SUMMARY = "roomsense SD card image: flash it, plug the board in, Home Assistant adopts it"
DESCRIPTION = "A read-only root filesystem with the roomsense services, Mosquitto, BlueZ, \
avahi and RAUC, on a card with a boot partition, two root slots and /data."
LICENSE = "MIT"

inherit core-image

IMAGE_FEATURES += "read-only-rootfs"
IMAGE_FEATURES:remove = "package-management"

IMAGE_INSTALL = "\
    packagegroup-core-boot \
    roomsense \
    roomsense-system \
    mosquitto \
    mosquitto-clients \
    bluez5 \
    avahi-daemon \
    rauc \
    libubootenv-bin \
    kernel-image \
    kernel-devicetree \
    ${MACHINE_EXTRA_RDEPENDS} \
    ${MACHINE_EXTRA_RRECOMMENDS} \
"

# The card's layout (two root slots, /data) and its bootloader pieces come from the distro and
# machine: WKS_FILE, IMAGE_BOOT_FILES, ROOMSENSE_WKS_LOADER.
IMAGE_FSTYPES = "ext4 wic.bz2 wic.bmap"
# Room for the root slot to grow into (the .wks slots are 1 GiB).
IMAGE_ROOTFS_MAXSIZE = "1048576"

# A root password is never shipped: log in over the serial console is disabled, and there is no
# SSH server; the node is managed over MQTT (roomsense/<node>/request/<cmd>).
