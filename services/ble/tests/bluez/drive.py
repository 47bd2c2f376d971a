"""Drives python-dbusmock's bluez5 template: `adapter` (with an LEAdvertisingManager1 that accepts
advertisements, which the template lacks), or `adverts ADDR N [RSSI [MINOR]]` (N iBeacon adverts, major 1, minor 2 unless given, sent as
one PropertiesChanged signal each, RSSI and ManufacturerData together, as bluetoothd does; RSSI
fixed when given, else -60..-64). The bus address comes from DBUS_SYSTEM_BUS_ADDRESS."""
import os, sys, time, dbus
bus = dbus.bus.BusConnection(os.environ["DBUS_SYSTEM_BUS_ADDRESS"])
mock = dbus.Interface(bus.get_object('org.bluez', '/'), 'org.bluez.Mock')
cmd = sys.argv[1]
if cmd == 'adapter':
    path = mock.AddAdapter('hci0', 'host')
    adapter = dbus.Interface(bus.get_object('org.bluez', path), 'org.freedesktop.DBus.Mock')
    adapter.AddMethods('org.bluez.LEAdvertisingManager1', [
        ('RegisterAdvertisement', 'oa{sv}', '', ''),
        ('UnregisterAdvertisement', 'o', '', ''),
    ])
elif cmd == 'adverts':
    addr = sys.argv[2]; n = int(sys.argv[3])
    rssi = int(sys.argv[4]) if len(sys.argv) > 4 else None
    minor = int(sys.argv[5]) if len(sys.argv) > 5 else 2
    beacon = bytes.fromhex('02152f234454cf6d4a0fadf2f4911ba9ffa60001') + minor.to_bytes(2, 'big') + bytes.fromhex('cc')
    try:
        path = mock.AddDevice('hci0', addr, 'Tag')
    except dbus.exceptions.DBusException:
        path = '/org/bluez/hci0/dev_' + addr.upper().replace(':', '_')  # added by an earlier call
    dev = bus.get_object('org.bluez', path)
    for i in range(n):
        mfg = dbus.Dictionary({dbus.UInt16(0x004c): dbus.Array(beacon, 'y', variant_level=1)}, signature='qv')
        value = rssi if rssi is not None else -60 - i % 5
        dev.EmitSignal('org.freedesktop.DBus.Properties', 'PropertiesChanged', 'sa{sv}as',
            ['org.bluez.Device1', dbus.Dictionary({'RSSI': dbus.Int16(value, variant_level=1), 'ManufacturerData': dbus.Dictionary(mfg, signature='qv', variant_level=1)}, signature='sv'), dbus.Array([], signature='s')],
            dbus_interface='org.freedesktop.DBus.Mock')
        time.sleep(0.05)
