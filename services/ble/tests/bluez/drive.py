"""Drives python-dbusmock's bluez5 template: `adapter`, or `adverts ADDR N` (N iBeacon adverts
sent as one PropertiesChanged signal each, RSSI and ManufacturerData together, as bluetoothd does).
The bus address comes from DBUS_SYSTEM_BUS_ADDRESS."""
import os, sys, time, dbus
bus = dbus.bus.BusConnection(os.environ["DBUS_SYSTEM_BUS_ADDRESS"])
mock = dbus.Interface(bus.get_object('org.bluez', '/'), 'org.bluez.Mock')
cmd = sys.argv[1]
if cmd == 'adapter':
    mock.AddAdapter('hci0', 'host')
elif cmd == 'adverts':
    addr = sys.argv[2]; n = int(sys.argv[3])
    path = mock.AddDevice('hci0', addr, 'Tag')
    dev = bus.get_object('org.bluez', path)
    for i in range(n):
        mfg = dbus.Dictionary({dbus.UInt16(0x004c): dbus.Array(bytes.fromhex('02152f234454cf6d4a0fadf2f4911ba9ffa600010002cc'), 'y', variant_level=1)}, signature='qv')
        dev.EmitSignal('org.freedesktop.DBus.Properties', 'PropertiesChanged', 'sa{sv}as',
            ['org.bluez.Device1', dbus.Dictionary({'RSSI': dbus.Int16(-60 - i % 5, variant_level=1), 'ManufacturerData': dbus.Dictionary(mfg, signature='qv', variant_level=1)}, signature='sv'), dbus.Array([], signature='s')],
            dbus_interface='org.freedesktop.DBus.Mock')
        time.sleep(0.05)
