use roomsense_core::config::{ConfigError, ConfigFile, LocatedProblem, Problems};
use roomsense_gpio::{BoardProfile, GpioConfig, Plan};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Root {
    #[serde(default)]
    gpio: GpioConfig,
}

fn parse(text: &str) -> Result<Plan, ConfigError> {
    let file = ConfigFile::from_text("/etc/roomsense/roomsense.toml", text);
    let root = file.parse(|r: &Root, p| r.gpio.validate(p))?;
    Ok(root.gpio.plan(&mut Default::default()).expect("a valid section should plan"))
}

fn only_problem(text: &str) -> LocatedProblem {
    let err = parse(text).expect_err("config should be refused");
    let problems = err.problems();
    assert_eq!(problems.len(), 1, "{err}");
    problems[0].clone()
}

#[test]
fn a_full_pi_config_resolves_every_part_to_its_line_channel_and_bus() {
    let plan = parse(
        r#"
[gpio]
board = "rpi-4b"

[[gpio.relay]]
name = "heater"
pin = 11
active_low = true
auto_off_s = 600

[[gpio.led]]
name = "desk"
pin = "GPIO18"

[[gpio.buzzer]]
name = "chime"
pin = 33
patterns = { doorbell = "1319:150 0:50 988:300" }

[[gpio.input]]
name = "hall_motion"
pin = 16
hold_s = 30

[[gpio.input]]
name = "front_door"
pin = "GPIO24"
device_class = "door"
pull = "up"

[[gpio.bme280]]
"#,
    )
    .unwrap();
    assert_eq!(plan.relays[0].line.name.as_deref(), Some("GPIO17"));
    assert_eq!(plan.relays[0].line.chip.as_deref(), Some("pinctrl-bcm2711"));
    assert_eq!(plan.relays[0].line.offset, Some(17));
    assert_eq!(plan.leds[0].pwm.pin, 12);
    assert_eq!(
        (plan.leds[0].pwm.channel.chip.as_str(), plan.leds[0].pwm.channel.channel),
        ("fe20c000.pwm", 0)
    );
    assert_eq!(plan.buzzers[0].pwm.channel.channel, 1);
    assert!(plan.buzzers[0].patterns.contains_key("doorbell"));
    assert!(plan.buzzers[0].patterns.contains_key("beep"));
    assert_eq!(plan.inputs[1].line.pin, 18);
    assert_eq!(plan.sensors[0].device, "/dev/i2c-1");
    assert_eq!(plan.sensors[0].address, 0x76);
}

#[test]
fn every_board_profile_loads_and_plans_a_relay_on_its_first_free_pin() {
    for id in BoardProfile::built_in_ids() {
        let board = BoardProfile::built_in(id).unwrap();
        let bus: Vec<u8> = board.i2c.iter().flat_map(|b| [b.sda, b.scl]).collect();
        let pin = board.usable_gpio_pins().into_iter().find(|p| !bus.contains(p)).unwrap();
        let pwm = board.pwm_pins()[0];
        let plan = parse(&format!(
            "[gpio]\nboard = \"{id}\"\n[[gpio.relay]]\nname = \"r\"\npin = {pin}\n[[gpio.led]]\nname = \"l\"\npin = {pwm}\n[[gpio.bme280]]\n"
        ))
        .unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(plan.board.id, id);
        assert_eq!(plan.relays[0].line.pin, pin);
    }
}

#[test]
fn an_unknown_pin_names_its_line_and_the_free_pins() {
    let p = only_problem("[gpio]\nboard = \"rpi-4b\"\n[[gpio.relay]]\nname = \"fan\"\npin = 41\n");
    assert_eq!(p.line, Some(5));
    assert_eq!(p.problem.key, "gpio.relay[0].pin");
    assert!(p.problem.message.contains("the rpi-4b header has no pin 41"), "{p}");
    assert!(p.problem.allowed.as_deref().unwrap().contains("11 (GPIO17)"), "{p}");
    let p = only_problem(
        "[gpio]\nboard = \"rpi-4b\"\n[[gpio.relay]]\nname = \"fan\"\npin = \"GPIO40\"\n",
    );
    assert!(p.problem.message.contains("no line or pin named `GPIO40`"), "{p}");
}

#[test]
fn a_pin_used_twice_names_the_part_holding_it() {
    let text = "[gpio]\nboard = \"rpi-4b\"\n\n[[gpio.relay]]\nname = \"fan\"\npin = 11\n\n[[gpio.input]]\nname = \"door\"\npin = \"GPIO17\"\n";
    let p = only_problem(text);
    assert_eq!(p.problem.key, "gpio.input[0].pin");
    assert_eq!(p.line, Some(10));
    assert!(p.problem.message.contains("pin 11 (GPIO17) is already used by relay `fan`"), "{p}");
    let allowed = p.problem.allowed.as_deref().unwrap();
    assert!(!allowed.contains("11 (GPIO17)") && allowed.contains("13 (GPIO27)"), "{p}");
}

#[test]
fn a_bus_pin_is_taken_by_the_bus() {
    let p = only_problem(
        "[gpio]\nboard = \"rpi-4b\"\n[[gpio.bme280]]\n[[gpio.relay]]\nname = \"fan\"\npin = 3\n",
    );
    assert!(p.problem.message.contains("pin 3 (GPIO2) is already used by I2C bus 1"), "{p}");
}

#[test]
fn pwm_on_a_pin_without_pwm_lists_the_pwm_pins_and_the_overlay() {
    let p = only_problem("[gpio]\nboard = \"rpi-5\"\n[[gpio.led]]\nname = \"lamp\"\npin = 11\n");
    assert_eq!(p.problem.key, "gpio.led[0].pin");
    assert_eq!(p.line, Some(5));
    assert!(p.problem.message.contains("pin 11 (GPIO17) has no hardware PWM"), "{p}");
    let allowed = p.problem.allowed.as_deref().unwrap();
    assert!(
        allowed.contains("free PWM pins: 12 (GPIO18), 32 (GPIO12), 33 (GPIO13), 35 (GPIO19)"),
        "{p}"
    );
    assert!(allowed.contains("dtoverlay=pwm-2chan"), "{p}");
}

#[test]
fn two_pins_of_one_pwm_channel_cannot_both_be_used() {
    // On the BCM2711 GPIO12 and GPIO18 are both channel 0.
    let p = only_problem(
        "[gpio]\nboard = \"rpi-4b\"\n[[gpio.led]]\nname = \"a\"\npin = 12\n[[gpio.buzzer]]\nname = \"b\"\npin = 32\n",
    );
    assert!(
        p.problem.message.contains(
            "shares PWM channel 0 of fe20c000.pwm with pin 12 (GPIO18), already used by led `a`"
        ),
        "{p}"
    );
    assert!(p.problem.allowed.as_deref().unwrap().contains("33 (GPIO13)"), "{p}");
}

#[test]
fn an_i2c_address_conflict_names_the_other_sensor_and_the_free_address() {
    let text = "[gpio]\nboard = \"coral-dev-board\"\n[[gpio.bme280]]\nname = \"hall\"\n[[gpio.bme280]]\nname = \"attic\"\naddress = 0x76\n";
    let p = only_problem(text);
    assert_eq!(p.problem.key, "gpio.bme280[1].address");
    assert_eq!(p.line, Some(7));
    assert!(
        p.problem.message.contains("I2C address 0x76 on bus 1 is already used by bme280 `hall`"),
        "{p}"
    );
    assert_eq!(p.problem.allowed.as_deref(), Some("0x77 (SDO to 3.3 V)"));
    // The Coral's second bus takes it.
    parse("[gpio]\nboard = \"coral-dev-board\"\n[[gpio.bme280]]\nname = \"hall\"\n[[gpio.bme280]]\nname = \"attic\"\nbus = 2\n").unwrap();
    let p = only_problem("[gpio]\nboard = \"rpi-3b\"\n[[gpio.bme280]]\nbus = 2\n");
    assert!(p.problem.message.contains("the rpi-3b has no I2C bus 2"), "{p}");
    assert_eq!(p.problem.allowed.as_deref(), Some("1 (pins 3 and 5)"));
    let p = only_problem("[gpio]\nboard = \"rpi-3b\"\n[[gpio.bme280]]\naddress = 0x40\n");
    assert!(p.problem.message.contains("cannot be at 0x40"), "{p}");
}

#[test]
fn power_reserved_and_non_gpio_pins_are_refused_with_the_reason() {
    let p =
        only_problem("[gpio]\nboard = \"rpi-zero-2w\"\n[[gpio.relay]]\nname = \"fan\"\npin = 2\n");
    assert!(p.problem.message.contains("pin 2 is a power pin (5V)"), "{p}");
    let p =
        only_problem("[gpio]\nboard = \"rpi-zero-2w\"\n[[gpio.relay]]\nname = \"fan\"\npin = 27\n");
    assert!(p.problem.message.contains("pin 27 (ID_SDA) is reserved: HAT ID EEPROM"), "{p}");
    let p = only_problem(
        "[gpio]\nboard = \"coral-dev-board\"\n[[gpio.relay]]\nname = \"fan\"\npin = 7\n",
    );
    assert!(
        p.problem
            .message
            .contains("pin 7 (UART3_TXD) is not a GPIO line on this board (UART3 TXD)"),
        "{p}"
    );
    assert!(p.problem.allowed.as_deref().unwrap().contains("37 (GPIO_P37)"), "{p}");
}

#[test]
fn boards_must_be_named_and_known() {
    let p = only_problem("[gpio]\n[[gpio.relay]]\nname = \"fan\"\npin = 11\n");
    assert_eq!(p.problem.key, "gpio.board");
    assert!(
        p.problem
            .allowed
            .as_deref()
            .unwrap()
            .contains("rpi-zero-2w, rpi-3b, rpi-4b, rpi-5, coral-dev-board")
    );
    let p = only_problem("[gpio]\nboard = \"rpi-2\"\n");
    assert_eq!(p.line, Some(2));
    assert!(p.problem.message.contains("unknown board `rpi-2`"), "{p}");
    // No parts, no board: nothing to do, nothing wrong.
    let mut problems = Problems::default();
    assert_eq!(GpioConfig::default().plan(&mut problems), None);
    assert!(problems.is_empty());
}

#[test]
fn a_board_profile_file_can_be_given_by_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("custom.toml");
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../hardware/boards/rpi-4b.toml"
    ))
    .unwrap();
    std::fs::write(&path, text.replace("id = \"rpi-4b\"", "id = \"custom\"")).unwrap();
    let plan = parse(&format!(
        "[gpio]\nboard = \"{}\"\n[[gpio.relay]]\nname = \"r\"\npin = 11\n",
        path.display()
    ))
    .unwrap();
    assert_eq!(plan.board.id, "custom");
}

#[test]
fn every_problem_of_the_section_is_reported_at_once() {
    let err = parse(
        "[gpio]\nboard = \"rpi-4b\"\n[[gpio.relay]]\nname = \"Fan\"\npin = 41\nauto_off_s = 0\n[[gpio.input]]\nname = \"pir\"\npin = 16\ndevice_class = \"cat\"\n[[gpio.buzzer]]\nname = \"bz\"\npin = 33\npatterns = { x = \"2000\" }\n",
    )
    .unwrap_err();
    let keys: Vec<_> = err.problems().iter().map(|p| p.problem.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "gpio.relay[0].name",
            "gpio.relay[0].auto_off_s",
            "gpio.relay[0].pin",
            "gpio.buzzer[0].patterns.x",
            "gpio.input[0].device_class"
        ],
        "{err}"
    );
}

#[test]
fn a_wrong_type_for_a_pin_says_what_a_pin_is() {
    let p = only_problem("[gpio]\nboard = \"rpi-4b\"\n[[gpio.relay]]\nname = \"fan\"\npin = 1.5\n");
    assert_eq!(p.line, Some(5));
    assert!(
        p.problem.allowed.as_deref().unwrap_or(&p.problem.message).contains("header pin number"),
        "{p}"
    );
}
