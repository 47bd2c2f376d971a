//! Writes advertisements from BlueZ as trace lines to stdout (what `roomsense ble record FILE`
//! will do), for at most N adverts (first argument, default unlimited). Needs feature `bluez`;
//! honours `DBUS_SYSTEM_BUS_ADDRESS`, so it also runs against python-dbusmock's bluez5 template.

use std::io::Write;

use roomsense_ble::{AdvertisementSource, BluezOptions, BluezSource, SourceEvent, TraceWriter};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let limit: u64 = std::env::args().nth(1).map_or(Ok(u64::MAX), |a| a.parse())?;
    let mut source = BluezSource::new(BluezOptions::default()).await?;
    let mut out = TraceWriter::new(std::io::stdout().lock());
    let mut n = 0;
    while n < limit {
        match source.next_event().await? {
            Some(SourceEvent::Advert(adv)) => {
                out.write(&adv)?;
                n += 1;
            }
            Some(SourceEvent::Rejected(e)) => eprintln!("rejected: {e}"),
            None => break,
        }
    }
    out.finish()?.flush()?;
    eprintln!("{source:?}");
    Ok(())
}
