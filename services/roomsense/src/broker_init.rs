//! `roomsense broker init`: writes the bundled Mosquitto's files and says what Home Assistant
//! and the node's config need.

use std::process::ExitCode;

use roomsense_broker::provision::{self, Action, InitReport, InitRequest};

use crate::config::RoomsenseConfig;

/// `roomsense broker init` options.
#[derive(Debug, clap::Args)]
pub(crate) struct InitArgs {
    /// Overwrite files you edited (found by their hash in the manifest).
    #[arg(long)]
    force: bool,
    /// Also make a `bridge` login, for another broker that bridges into this one.
    #[arg(long)]
    bridge_user: bool,
    /// The host name Home Assistant reaches this board by (default: this machine's).
    #[arg(long)]
    hostname: Option<String>,
    /// Print the result as JSON (includes the passwords).
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(config: &RoomsenseConfig, args: &InitArgs) -> ExitCode {
    let hostname = args.hostname.clone().unwrap_or_else(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_default()
    });
    let request = InitRequest {
        node: config.node.clone(),
        mqtt: config.mqtt.clone(),
        broker: config.broker.clone(),
        force: args.force,
        bridge_user: args.bridge_user,
        hostname,
        now: time::OffsetDateTime::now_utc(),
    };
    match provision::init(&request, &ring::rand::SystemRandom::new()) {
        Ok(report) if args.json => {
            println!(
                "{}",
                serde_json::to_string_pretty(&report).expect("a report should serialize")
            );
            ExitCode::SUCCESS
        }
        Ok(report) => {
            print!("{}", text(&report));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn text(r: &InitReport) -> String {
    let mut out = String::from("roomsense broker init\n");
    for f in &r.files {
        let what = match f.action {
            Action::Created => "created",
            Action::Updated => "updated",
            Action::Unchanged => "unchanged",
            Action::KeptEdited => "KEPT (you edited it; --force overwrites it)",
            Action::Overwritten => "overwritten (--force)",
        };
        out.push_str(&format!("  {:<10} {}\n", what, f.path.display()));
    }
    let ha = &r.home_assistant;
    out.push_str(&format!(
        "\nHome Assistant (Settings > Devices & services > Add integration > MQTT; \"Advanced options\"):\n  \
         broker:   {}\n  port:     {}\n  username: {}\n  password: {}\n  TLS:      on; broker certificate validation \"Custom\", upload {}\n",
        ha.host,
        ha.port,
        ha.username,
        ha.password,
        ha.ca_file.display()
    ));
    if let Some(b) = &r.bridge {
        out.push_str(&format!(
            "\nA broker bridging into this one: address {}:{}, remote_username {}, remote_password {}, bridge_cafile {}\n",
            b.host,
            b.port,
            b.username,
            b.password,
            b.ca_file.display()
        ));
    }
    out.push_str(&format!(
        "\nThe node's config (roomsense.toml) needs, for each service to log in as itself:\n{}\n\
         Start the broker with: mosquitto -c {}\n",
        r.mqtt_config,
        r.mosquitto_conf.display()
    ));
    out
}
