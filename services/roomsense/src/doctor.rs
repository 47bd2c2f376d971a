//! `roomsense doctor`: the checks of roomsense-broker, fed from the node's config and the
//! command line.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use roomsense_broker::doctor::{self, DoctorRequest};
use roomsense_core::{Identity, NODE_SERVICE};

use crate::config::RoomsenseConfig;

/// `roomsense doctor` options.
#[derive(Debug, clap::Args)]
pub(crate) struct DoctorArgs {
    /// The broker to check, HOST:PORT (default: [mqtt] host and port of the config).
    #[arg(long, value_parser = host_port)]
    broker: Option<(String, u16)>,
    /// The TLS listener to check, HOST:PORT (default: the broker's host, [broker] tls_port).
    #[arg(long, value_parser = host_port)]
    tls: Option<(String, u16)>,
    /// The CA the TLS certificate should chain to (default: [mqtt] ca_file, else the one
    /// `broker init` made).
    #[arg(long)]
    ca: Option<PathBuf>,
    /// How long to listen for what a login can read, milliseconds.
    #[arg(long, default_value_t = 2000)]
    listen_ms: u64,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

fn host_port(s: &str) -> Result<(String, u16), String> {
    let (host, port) = s.rsplit_once(':').ok_or("expected HOST:PORT")?;
    let port = port.parse::<u16>().map_err(|_| format!("`{port}` is not a port"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err("expected HOST:PORT".into());
    }
    Ok((host.to_owned(), port))
}

/// `config` is `None` when there is no config file: then only `--broker` says what to check.
pub(crate) fn run(config: Option<&RoomsenseConfig>, args: &DoctorArgs) -> ExitCode {
    let defaults = roomsense_core::config::MqttConfig::default();
    let broker_defaults = roomsense_broker::BrokerConfig::default();
    let mqtt = config.map_or(&defaults, |c| &c.mqtt);
    let broker = config.map_or(&broker_defaults, |c| &c.broker);
    let (host, port) = args.broker.clone().unwrap_or_else(|| (mqtt.host.clone(), mqtt.port()));
    let tls_ca = (args.broker.is_none() && mqtt.tls).then(|| mqtt.ca_file.clone()).flatten();
    let tls = args.tls.clone().or_else(|| {
        Some(if tls_ca.is_some() { (host.clone(), port) } else { (host.clone(), broker.tls_port) })
    });
    let generated_ca = broker.config_dir.join("ca.crt");
    let ca_file = args
        .ca
        .clone()
        .or_else(|| mqtt.ca_file.clone())
        .or_else(|| broker.ca_file.clone())
        .or_else(|| generated_ca.exists().then_some(generated_ca));
    let (node_login, node_own_topics) = match config {
        Some(c) => {
            let identity = Identity::new(&c.node, &c.mqtt, NODE_SERVICE);
            let login = c.mqtt.login(&identity.client_id(), NODE_SERVICE).transpose();
            let own = vec![
                format!("{}/{}/#", c.mqtt.topic_prefix, c.node.id),
                identity.ha_status_topic().as_str().to_owned(),
            ];
            (login, own)
        }
        None => (None, Vec::new()),
    };
    let request = DoctorRequest {
        host,
        port,
        tls_ca,
        tls,
        ca_file,
        node_login,
        node_own_topics,
        data_dir: broker.data_dir.clone(),
        listen_for: Duration::from_millis(args.listen_ms),
        now: SystemTime::now(),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let report = runtime.block_on(doctor::run(&request));
    if args.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.to_text());
    }
    ExitCode::from(report.exit_code())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_addresses_take_host_and_port_including_ipv6() {
        assert_eq!(host_port("127.0.0.1:1883").unwrap(), ("127.0.0.1".into(), 1883));
        assert_eq!(host_port("[::1]:8883").unwrap(), ("::1".into(), 8883));
        assert!(host_port("hall.local").is_err());
        assert!(host_port(":1883").is_err());
        assert!(host_port("h:99999").is_err());
    }
}
