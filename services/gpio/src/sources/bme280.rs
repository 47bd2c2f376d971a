//! A BME280 driver on embedded-hal 1.0 I2C: forced-mode readings, compensated with the
//! datasheet's double-precision formulas (Bosch BME280 datasheet §8.1). It runs on
//! linux-embedded-hal's `I2cdev`, on the simulator, and on embedded-hal-mock alike.

use embedded_hal::delay::DelayNs;
use embedded_hal::i2c::I2c;

use crate::domain::environment::Reading;

const REG_CALIB_00: u8 = 0x88;
const REG_CALIB_26: u8 = 0xE1;
const REG_ID: u8 = 0xD0;
const REG_CTRL_HUM: u8 = 0xF2;
const REG_STATUS: u8 = 0xF3;
const REG_CTRL_MEAS: u8 = 0xF4;
const REG_DATA: u8 = 0xF7;
/// What a BME280 answers in its id register.
pub(super) const CHIP_ID: u8 = 0x60;
/// What a BMP280 (no humidity) answers.
const BMP280_ID: u8 = 0x58;
/// Oversampling ×1 for humidity.
pub(super) const CTRL_HUM: u8 = 0b001;
/// Oversampling ×1 for temperature and pressure, forced mode.
pub(super) const CTRL_MEAS_FORCED: u8 = (0b001 << 5) | (0b001 << 2) | 0b01;
/// The status register's "measuring" bit.
pub(super) const STATUS_MEASURING: u8 = 0b1000;
/// A value the sensor reports for a measurement that was skipped.
const SKIPPED_20BIT: i32 = 0x80000;

/// The factory calibration read from the sensor's NVM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[allow(missing_docs)]
pub struct Calibration {
    pub t1: u16,
    pub t2: i16,
    pub t3: i16,
    pub p1: u16,
    pub p2: i16,
    pub p3: i16,
    pub p4: i16,
    pub p5: i16,
    pub p6: i16,
    pub p7: i16,
    pub p8: i16,
    pub p9: i16,
    pub h1: u8,
    pub h2: i16,
    pub h3: u8,
    pub h4: i16,
    pub h5: i16,
    pub h6: i8,
}

impl Calibration {
    /// Decodes registers 0x88..=0xA1 (26 bytes) and 0xE1..=0xE7 (7 bytes).
    pub fn from_registers(a: &[u8; 26], b: &[u8; 7]) -> Self {
        let u = |i: usize| u16::from_le_bytes([a[i], a[i + 1]]);
        let s = |i: usize| i16::from_le_bytes([a[i], a[i + 1]]);
        Self {
            t1: u(0),
            t2: s(2),
            t3: s(4),
            p1: u(6),
            p2: s(8),
            p3: s(10),
            p4: s(12),
            p5: s(14),
            p6: s(16),
            p7: s(18),
            p8: s(20),
            p9: s(22),
            h1: a[25],
            h2: i16::from_le_bytes([b[0], b[1]]),
            h3: b[2],
            // H4 and H5 are 12-bit values sharing the nibbles of 0xE5.
            h4: (i16::from(b[3] as i8) << 4) | i16::from(b[4] & 0x0F),
            h5: (i16::from(b[5] as i8) << 4) | i16::from(b[4] >> 4),
            h6: b[6] as i8,
        }
    }

    /// The inverse of [`Calibration::from_registers`] (the simulator's NVM).
    pub fn to_registers(&self) -> ([u8; 26], [u8; 7]) {
        let mut a = [0u8; 26];
        let words: [[u8; 2]; 12] = [
            self.t1.to_le_bytes(),
            self.t2.to_le_bytes(),
            self.t3.to_le_bytes(),
            self.p1.to_le_bytes(),
            self.p2.to_le_bytes(),
            self.p3.to_le_bytes(),
            self.p4.to_le_bytes(),
            self.p5.to_le_bytes(),
            self.p6.to_le_bytes(),
            self.p7.to_le_bytes(),
            self.p8.to_le_bytes(),
            self.p9.to_le_bytes(),
        ];
        for (i, w) in words.iter().enumerate() {
            a[2 * i..2 * i + 2].copy_from_slice(w);
        }
        a[25] = self.h1;
        let h2 = self.h2.to_le_bytes();
        let b = [
            h2[0],
            h2[1],
            self.h3,
            (self.h4 >> 4) as u8,
            ((self.h4 & 0x0F) as u8) | (((self.h5 & 0x0F) as u8) << 4),
            (self.h5 >> 4) as u8,
            self.h6 as u8,
        ];
        (a, b)
    }
}

/// Raw ADC values of one measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Raw {
    /// 20-bit pressure.
    pub pressure: i32,
    /// 20-bit temperature.
    pub temperature: i32,
    /// 16-bit humidity.
    pub humidity: i32,
}

impl Raw {
    /// Decodes the 8 data registers from 0xF7.
    pub fn from_registers(d: &[u8; 8]) -> Self {
        let b20 =
            |m: u8, l: u8, x: u8| (i32::from(m) << 12) | (i32::from(l) << 4) | (i32::from(x) >> 4);
        Self {
            pressure: b20(d[0], d[1], d[2]),
            temperature: b20(d[3], d[4], d[5]),
            humidity: (i32::from(d[6]) << 8) | i32::from(d[7]),
        }
    }

    /// The inverse (the simulator's data registers).
    pub fn to_registers(self) -> [u8; 8] {
        let p = self.pressure;
        let t = self.temperature;
        [
            (p >> 12) as u8,
            (p >> 4) as u8,
            ((p & 0xF) << 4) as u8,
            (t >> 12) as u8,
            (t >> 4) as u8,
            ((t & 0xF) << 4) as u8,
            (self.humidity >> 8) as u8,
            self.humidity as u8,
        ]
    }
}

/// Compensated values: °C, Pa, %RH (datasheet §8.1, double precision). Pressure is `None`
/// when the calibration makes its divisor zero.
pub fn compensate(c: &Calibration, raw: &Raw) -> (f64, Option<f64>, f64) {
    let adc_t = f64::from(raw.temperature);
    let (t1, t2, t3) = (f64::from(c.t1), f64::from(c.t2), f64::from(c.t3));
    let var1 = (adc_t / 16384.0 - t1 / 1024.0) * t2;
    let var2 = (adc_t / 131072.0 - t1 / 8192.0) * (adc_t / 131072.0 - t1 / 8192.0) * t3;
    let t_fine = (var1 + var2).trunc();
    let temperature = (var1 + var2) / 5120.0;

    let adc_p = f64::from(raw.pressure);
    let mut var1 = t_fine / 2.0 - 64000.0;
    let mut var2 = var1 * var1 * f64::from(c.p6) / 32768.0;
    var2 += var1 * f64::from(c.p5) * 2.0;
    var2 = var2 / 4.0 + f64::from(c.p4) * 65536.0;
    var1 = (f64::from(c.p3) * var1 * var1 / 524288.0 + f64::from(c.p2) * var1) / 524288.0;
    var1 = (1.0 + var1 / 32768.0) * f64::from(c.p1);
    let pressure = if var1 == 0.0 {
        None
    } else {
        let mut p = 1048576.0 - adc_p;
        p = (p - var2 / 4096.0) * 6250.0 / var1;
        let v1 = f64::from(c.p9) * p * p / 2147483648.0;
        let v2 = p * f64::from(c.p8) / 32768.0;
        Some(p + (v1 + v2 + f64::from(c.p7)) / 16.0)
    };

    let adc_h = f64::from(raw.humidity);
    let mut h = t_fine - 76800.0;
    h = (adc_h - (f64::from(c.h4) * 64.0 + f64::from(c.h5) / 16384.0 * h))
        * (f64::from(c.h2) / 65536.0
            * (1.0 + f64::from(c.h6) / 67108864.0 * h * (1.0 + f64::from(c.h3) / 67108864.0 * h)));
    h *= 1.0 - f64::from(c.h1) * h / 524288.0;
    (temperature, pressure, h.clamp(0.0, 100.0))
}

/// Why the driver could not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Bme280Error {
    /// The bus transfer failed.
    #[error("bus error: {0} (check wiring and the address: SDO to GND is 0x76, to 3.3 V 0x77)")]
    Bus(String),
    /// Something else answered.
    #[error("chip id 0x{0:02x} is not a BME280 (0x60){1}")]
    WrongChip(u8, &'static str),
    /// The conversion did not finish.
    #[error("the measurement did not finish")]
    Timeout,
    /// The sensor reported a skipped measurement.
    #[error("the sensor skipped the measurement")]
    Skipped,
}

/// A BME280 on an I2C bus.
#[derive(Debug)]
pub struct Bme280<I, D> {
    i2c: I,
    delay: D,
    address: u8,
    calibration: Calibration,
}

impl<I: I2c, D: DelayNs> Bme280<I, D> {
    /// Checks the chip id and reads the calibration.
    pub fn new(mut i2c: I, delay: D, address: u8) -> Result<Self, Bme280Error> {
        let mut id = [0u8];
        i2c.write_read(address, &[REG_ID], &mut id).map_err(bus)?;
        if id[0] != CHIP_ID {
            let hint = if id[0] == BMP280_ID { ": a BMP280 has no humidity sensor" } else { "" };
            return Err(Bme280Error::WrongChip(id[0], hint));
        }
        let mut a = [0u8; 26];
        let mut b = [0u8; 7];
        i2c.write_read(address, &[REG_CALIB_00], &mut a).map_err(bus)?;
        i2c.write_read(address, &[REG_CALIB_26], &mut b).map_err(bus)?;
        let calibration = Calibration::from_registers(&a, &b);
        Ok(Self { i2c, delay, address, calibration })
    }

    /// The calibration read at start.
    pub fn calibration(&self) -> &Calibration {
        &self.calibration
    }

    /// One forced-mode measurement: starts it, waits for it, reads and compensates it.
    pub fn measure(&mut self) -> Result<Reading, Bme280Error> {
        // ctrl_hum only takes effect after a write to ctrl_meas, so it goes first.
        self.i2c.write(self.address, &[REG_CTRL_HUM, CTRL_HUM]).map_err(bus)?;
        self.i2c.write(self.address, &[REG_CTRL_MEAS, CTRL_MEAS_FORCED]).map_err(bus)?;
        // ×1 oversampling of all three: 9.3 ms at most (datasheet §9.1).
        let mut status = [STATUS_MEASURING];
        for _ in 0..10 {
            self.delay.delay_ms(2);
            self.i2c.write_read(self.address, &[REG_STATUS], &mut status).map_err(bus)?;
            if status[0] & STATUS_MEASURING == 0 {
                break;
            }
        }
        if status[0] & STATUS_MEASURING != 0 {
            return Err(Bme280Error::Timeout);
        }
        let mut data = [0u8; 8];
        self.i2c.write_read(self.address, &[REG_DATA], &mut data).map_err(bus)?;
        let raw = Raw::from_registers(&data);
        if raw.temperature == SKIPPED_20BIT || raw.pressure == SKIPPED_20BIT {
            return Err(Bme280Error::Skipped);
        }
        let (t, p, h) = compensate(&self.calibration, &raw);
        let p = p.ok_or(Bme280Error::Skipped)?;
        Ok(Reading { temperature_c: t, humidity_pct: h, pressure_hpa: p / 100.0 })
    }
}

fn bus<E: embedded_hal::i2c::Error>(e: E) -> Bme280Error {
    Bme280Error::Bus(format!("{:?}", e.kind()))
}

#[cfg(test)]
mod tests {
    use embedded_hal::i2c::ErrorKind;
    use embedded_hal_mock::eh1::delay::NoopDelay;
    use embedded_hal_mock::eh1::i2c::{Mock, Transaction};

    use super::*;

    /// The calibration of Bosch's worked example (BMP280 datasheet §3.12, whose temperature and
    /// pressure compensation the BME280 datasheet §8.1 repeats), with humidity words as a real
    /// BME280 carries them.
    fn bosch_example() -> Calibration {
        Calibration {
            t1: 27504,
            t2: 26435,
            t3: -1000,
            p1: 36477,
            p2: -10685,
            p3: 3024,
            p4: 2855,
            p5: 140,
            p6: -7,
            p7: 15500,
            p8: -14600,
            p9: 6000,
            h1: 75,
            h2: 362,
            h3: 0,
            h4: 313,
            h5: 50,
            h6: 30,
        }
    }

    /// The datasheet's fixed-point humidity (§4.2.3, `bme280_compensate_H_int32`): an
    /// independent second implementation to check the double-precision one against.
    fn humidity_int32(c: &Calibration, t_fine: i32, adc_h: i32) -> f64 {
        let mut v = t_fine - 76800;
        v = ((((adc_h << 14) - (i32::from(c.h4) << 20) - (i32::from(c.h5) * v)) + 16384) >> 15)
            * (((((((v * i32::from(c.h6)) >> 10) * (((v * i32::from(c.h3)) >> 11) + 32768))
                >> 10)
                + 2097152)
                * i32::from(c.h2)
                + 8192)
                >> 14);
        v -= ((((v >> 15) * (v >> 15)) >> 7) * i32::from(c.h1)) >> 4;
        v = v.clamp(0, 419430400);
        f64::from((v >> 12) as u32) / 1024.0
    }

    #[test]
    fn compensation_reproduces_boschs_worked_example() {
        let raw = Raw { temperature: 519888, pressure: 415148, humidity: 0 };
        let (t, p, _) = compensate(&bosch_example(), &raw);
        // Datasheet: T = 25.08 °C (t_fine 128422), p = 100653.27 Pa.
        assert!((t - 25.08).abs() < 0.005, "{t}");
        assert!((p.unwrap() - 100653.27).abs() < 0.05, "{p:?}");
    }

    #[test]
    fn double_and_fixed_point_humidity_agree_across_the_range() {
        let c = bosch_example();
        let t_fine = 128422;
        for adc_h in (20000..40000).step_by(997) {
            let raw = Raw { temperature: 519888, pressure: 415148, humidity: adc_h };
            let (_, _, h) = compensate(&c, &raw);
            let reference = humidity_int32(&c, t_fine, adc_h);
            assert!((h - reference).abs() < 0.01, "adc_h {adc_h}: {h} vs {reference}");
        }
    }

    #[test]
    fn calibration_registers_round_trip() {
        let c = bosch_example();
        let (a, b) = c.to_registers();
        assert_eq!(Calibration::from_registers(&a, &b), c);
        let negative = Calibration { h4: -300, h5: -7, h6: -3, ..c };
        let (a, b) = negative.to_registers();
        assert_eq!(Calibration::from_registers(&a, &b), negative);
    }

    fn setup(address: u8, c: &Calibration) -> Vec<Transaction> {
        let (a, b) = c.to_registers();
        vec![
            Transaction::write_read(address, vec![REG_ID], vec![CHIP_ID]),
            Transaction::write_read(address, vec![REG_CALIB_00], a.to_vec()),
            Transaction::write_read(address, vec![REG_CALIB_26], b.to_vec()),
        ]
    }

    #[test]
    fn a_forced_measurement_replays_the_register_traffic_of_the_datasheet() {
        let c = bosch_example();
        let raw = Raw { temperature: 519888, pressure: 415148, humidity: 30000 };
        let mut expected = setup(0x76, &c);
        expected.extend([
            Transaction::write(0x76, vec![REG_CTRL_HUM, CTRL_HUM]),
            Transaction::write(0x76, vec![REG_CTRL_MEAS, CTRL_MEAS_FORCED]),
            Transaction::write_read(0x76, vec![REG_STATUS], vec![STATUS_MEASURING]),
            Transaction::write_read(0x76, vec![REG_STATUS], vec![0]),
            Transaction::write_read(0x76, vec![REG_DATA], raw.to_registers().to_vec()),
        ]);
        let mut mock = Mock::new(&expected);
        let mut sensor = Bme280::new(mock.clone(), NoopDelay::new(), 0x76).unwrap();
        assert_eq!(sensor.calibration(), &c);
        let r = sensor.measure().unwrap();
        assert!((r.temperature_c - 25.08).abs() < 0.005);
        assert!((r.pressure_hpa - 1006.5327).abs() < 0.001);
        let h = humidity_int32(&c, 128422, 30000);
        assert!((r.humidity_pct - h).abs() < 0.01);
        mock.done();
    }

    #[test]
    fn a_bmp280_is_refused_by_name() {
        let expected = [Transaction::write_read(0x77, vec![REG_ID], vec![BMP280_ID])];
        let mut mock = Mock::new(&expected);
        let Err(e) = Bme280::new(mock.clone(), NoopDelay::new(), 0x77) else {
            panic!("a BMP280 should be refused")
        };
        assert!(e.to_string().contains("a BMP280 has no humidity sensor"), "{e}");
        mock.done();
    }

    #[test]
    fn a_missing_sensor_is_a_bus_error_that_says_what_to_check() {
        let expected = [Transaction::write_read(0x76, vec![REG_ID], vec![0])
            .with_error(ErrorKind::NoAcknowledge(embedded_hal::i2c::NoAcknowledgeSource::Address))];
        let mut mock = Mock::new(&expected);
        let Err(e) = Bme280::new(mock.clone(), NoopDelay::new(), 0x76) else {
            panic!("no sensor should be an error")
        };
        assert!(e.to_string().contains("check wiring"), "{e}");
        mock.done();
    }

    #[test]
    fn a_skipped_measurement_is_refused() {
        let c = bosch_example();
        let mut expected = setup(0x76, &c);
        let skipped = Raw { temperature: SKIPPED_20BIT, pressure: SKIPPED_20BIT, humidity: 0x8000 };
        expected.extend([
            Transaction::write(0x76, vec![REG_CTRL_HUM, CTRL_HUM]),
            Transaction::write(0x76, vec![REG_CTRL_MEAS, CTRL_MEAS_FORCED]),
            Transaction::write_read(0x76, vec![REG_STATUS], vec![0]),
            Transaction::write_read(0x76, vec![REG_DATA], skipped.to_registers().to_vec()),
        ]);
        let mut mock = Mock::new(&expected);
        let mut sensor = Bme280::new(mock.clone(), NoopDelay::new(), 0x76).unwrap();
        assert_eq!(sensor.measure(), Err(Bme280Error::Skipped));
        mock.done();
    }
}
