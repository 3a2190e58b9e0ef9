//! Alert sinks for the command line: JSON Lines (the contract) or a table for terminals.

use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use nhiwatch_core::Alert;
use std::io::Write;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One JSON object per line (the alert contract).
    Json,
    /// A readable table.
    Table,
}

/// Writes alerts in `format`.
pub fn write_alerts(alerts: &[Alert], format: Format, out: &mut dyn Write) -> anyhow::Result<()> {
    match format {
        Format::Json => {
            for a in alerts {
                serde_json::to_writer(&mut *out, a)?;
                out.write_all(b"\n")?;
            }
        }
        Format::Table => {
            let mut table = Table::new();
            table.load_preset(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Dynamic).set_width(160);
            table.set_header(["time (UTC)", "severity", "rule", "identity", "ATT&CK", "summary"]);
            for a in alerts {
                let who = format!(
                    "{}\n{} ({})",
                    a.identity.name,
                    a.identity.kind,
                    if a.identity.nhi { "NHI" } else { "human" }
                );
                let attack: Vec<&str> = a.attack.iter().map(|t| t.technique_id.as_str()).collect();
                table.add_row([
                    a.time.format("%Y-%m-%d %H:%M:%S").to_string(),
                    a.severity.to_string(),
                    a.rule_id.clone(),
                    who,
                    attack.join("\n"),
                    a.summary.clone(),
                ]);
            }
            writeln!(out, "{table}")?;
        }
    }
    out.flush()?;
    Ok(())
}
