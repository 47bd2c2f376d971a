# A BLE scanner: no audio, LE audio, file transfer, network or input profiles.
PACKAGECONFIG:remove:roomsense-os = "obex-profiles a2dp-profiles avrcp-profiles bap-profiles \
    bass-profiles mcp-profiles ccp-profiles vcp-profiles micp-profiles csip-profiles \
    tmap-profiles gmap-profiles hfp-profiles asha-profiles network-profiles hid-profiles"
