//! Environment readings: offsets applied, and readings outside what a BME280 can measure
//! refused (a loose wire reads as all ones, not as weather).

/// One reading of temperature, humidity and pressure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    /// °C.
    pub temperature_c: f64,
    /// Relative humidity, %.
    pub humidity_pct: f64,
    /// hPa.
    pub pressure_hpa: f64,
}

/// The BME280's operating range (datasheet table 1).
const TEMPERATURE_C: (f64, f64) = (-40.0, 85.0);
const PRESSURE_HPA: (f64, f64) = (300.0, 1100.0);

/// Why a reading was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum Implausible {
    /// Temperature outside −40 to 85 °C.
    #[error("temperature outside the sensor's range")]
    Temperature,
    /// Pressure outside 300 to 1100 hPa.
    #[error("pressure outside the sensor's range")]
    Pressure,
    /// Humidity not a number.
    #[error("humidity is not a number")]
    Humidity,
}

/// Checks a raw reading and applies the configured offsets (°C, %, hPa); humidity is clamped
/// to 0–100 % after its offset.
pub(crate) fn calibrate(raw: Reading, offsets: (f64, f64, f64)) -> Result<Reading, Implausible> {
    let inside = |v: f64, (lo, hi): (f64, f64)| v.is_finite() && v >= lo && v <= hi;
    if !inside(raw.temperature_c, TEMPERATURE_C) {
        return Err(Implausible::Temperature);
    }
    if !inside(raw.pressure_hpa, PRESSURE_HPA) {
        return Err(Implausible::Pressure);
    }
    if !raw.humidity_pct.is_finite() {
        return Err(Implausible::Humidity);
    }
    Ok(Reading {
        temperature_c: raw.temperature_c + offsets.0,
        humidity_pct: (raw.humidity_pct + offsets.1).clamp(0.0, 100.0),
        pressure_hpa: raw.pressure_hpa + offsets.2,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const AIR: Reading = Reading { temperature_c: 21.0, humidity_pct: 45.0, pressure_hpa: 1013.0 };

    #[test]
    fn offsets_are_added_and_humidity_stays_a_percentage() {
        let r = calibrate(AIR, (-1.5, 60.0, 20.0)).unwrap();
        assert_eq!(r, Reading { temperature_c: 19.5, humidity_pct: 100.0, pressure_hpa: 1033.0 });
    }

    #[test]
    fn readings_the_sensor_cannot_make_are_refused() {
        let bad = Reading { temperature_c: 120.0, ..AIR };
        assert_eq!(calibrate(bad, (0.0, 0.0, 0.0)), Err(Implausible::Temperature));
        let bad = Reading { pressure_hpa: 0.0, ..AIR };
        assert_eq!(calibrate(bad, (0.0, 0.0, 0.0)), Err(Implausible::Pressure));
        let bad = Reading { humidity_pct: f64::NAN, ..AIR };
        assert_eq!(calibrate(bad, (0.0, 0.0, 0.0)), Err(Implausible::Humidity));
    }
}
