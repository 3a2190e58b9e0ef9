//! `nhiwatch`: detect misuse of non-human identities in cloud audit logs.

use anyhow::Context;
use clap::{Parser, Subcommand};
use nhiwatch_cli::config::Config;
use nhiwatch_cli::output::{Format, write_alerts};
use nhiwatch_cli::pack::load_pack;
use nhiwatch_cli::replay::{ReplayOptions, parse_time_arg, replay};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

// Why mimalloc: decoding allocates many short strings per event; the system allocator spent a
// fifth of replay time in malloc/free.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(name = "nhiwatch", version, about = "Detect misuse of non-human identities in cloud audit logs")]
struct Cli {
    /// Log format on standard error (`NHIWATCH_LOG` sets the level, e.g. `info`, `debug`).
    #[arg(long, global = true, value_enum, default_value = "text")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Replay CloudTrail archives (S3 layout, exports, JSON Lines, EventBridge, stdin) through
    /// the detection engine and print alerts.
    Replay(ReplayArgs),
    /// Work with rule packs.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Run a new or changed pack over history and compare it with the current pack.
    Backtest(BacktestArgs),
    /// List every identity in the archives: human or non-human and why, where from, what,
    /// when, keys, quiet days, alerts.
    Inventory(InventoryArgs),
    /// Detect live: consume audit records from Kafka, deliver alerts, keep state in
    /// checkpoints (stops cleanly on SIGTERM / SIGINT, reloads rules on SIGHUP).
    Run(RunArgs),
    /// Load archives into a Kafka topic, one record per message keyed by identity.
    Publish(PublishArgs),
    /// Convert archives into a Parquet archive of normalized events (resumable), for `query`.
    Archive(ArchiveArgs),
    /// SQL over a Parquet archive (table `events`) and alert files (table `alerts`).
    Query(QueryArgs),
    /// Engine state from history.
    #[command(subcommand)]
    Baseline(BaselineCommand),
}

#[derive(Debug, Subcommand)]
enum BaselineCommand {
    /// Learn baselines from history into a state directory, so `replay --state` (or a
    /// checkpoint seed for `run`) starts mature instead of blind for its first weeks.
    Build(BaselineBuildArgs),
}

#[derive(Debug, clap::Args)]
struct BaselineBuildArgs {
    /// History: archives, directories (CloudTrail S3 layout), Parquet archives or `-`.
    #[arg(long = "from", required = true, num_args = 1..)]
    from: Vec<PathBuf>,
    /// State directory to write (replaced).
    #[arg(long)]
    state: PathBuf,
    /// Only history before this time (RFC 3339 or YYYY-MM-DD).
    #[arg(long)]
    until: Option<String>,
    /// Configuration file (TOML).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Rule directory (repeatable); replaces the built-in pack.
    #[arg(long = "rules")]
    rules: Vec<PathBuf>,
}

fn run_baseline_build(args: BaselineBuildArgs) -> anyhow::Result<()> {
    let config = load_config(args.config.as_ref(), &[])?;
    let rule_dirs =
        if args.rules.is_empty() { config.rules.dirs.iter().map(PathBuf::from).collect() } else { args.rules };
    let pack = Arc::new(load_pack(&rule_dirs)?);
    let opts = ReplayOptions {
        paths: args.from,
        until: args.until.as_deref().map(parse_time_arg).transpose().context("--until")?,
        progress: std::io::stderr().is_terminal(),
        state: Some(args.state.clone()),
        reset_state: true,
        ..ReplayOptions::default()
    };
    let mut stderr = std::io::stderr().lock();
    let report = replay(&opts, pack, config.engine_config()?, &mut stderr)?;
    writeln!(
        stderr,
        "baseline built from {} events ({} identities, {} groups) into {} ({} bytes); the {} alerts of the history are not reported (use replay for them)",
        report.summary.engine.events_total,
        report.summary.engine.identities_nhi + report.summary.engine.identities_human,
        report.summary.engine.groups_tracked,
        args.state.display(),
        report.summary.state_bytes.unwrap_or(0),
        report.alerts.len()
    )?;
    Ok(())
}

#[derive(Debug, clap::Args)]
struct ArchiveArgs {
    /// The Parquet archive (created or extended).
    #[arg(long)]
    out: PathBuf,
    /// Stop with an error at the first bad record.
    #[arg(long)]
    strict: bool,
    /// Threads that read and decode inputs while batches are written (0: one per core). The
    /// archive is the same whatever the number.
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Archives: files, directories (CloudTrail S3 layout) or `-`.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

fn run_archive(args: ArchiveArgs) -> anyhow::Result<()> {
    let mut stderr = std::io::stderr().lock();
    let started = std::time::Instant::now();
    let s = nhiwatch_cli::archive::archive(&args.paths, &args.out, args.strict, args.threads, &mut stderr)?;
    let bad: u64 = s.bad_by_reason.values().sum();
    writeln!(
        stderr,
        "archived {} events from {} inputs into {} Parquet files under {} ({} inputs already there, {} bad records; {} events in the archive) in {:.1}s",
        s.events,
        s.inputs,
        s.files,
        args.out.display(),
        s.skipped,
        bad,
        s.total_events,
        started.elapsed().as_secs_f64()
    )?;
    Ok(())
}

#[derive(Debug, clap::Args)]
struct QueryArgs {
    /// The SQL.
    sql: String,
    /// A Parquet archive written by `nhiwatch archive` (table `events`).
    #[arg(long)]
    events: Option<PathBuf>,
    /// Alert files, JSON Lines (table `alerts`; repeatable).
    #[arg(long = "alerts")]
    alerts: Vec<PathBuf>,
    /// GeoIP database for `geo_country(ip)` and friends (repeatable).
    #[arg(long = "geoip")]
    geoip: Vec<PathBuf>,
    /// Configuration file (its GeoIP databases).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: RowFormat,
}

fn run_query(args: QueryArgs) -> anyhow::Result<()> {
    let config = load_config(args.config.as_ref(), &args.geoip)?;
    anyhow::ensure!(
        args.events.is_some() || !args.alerts.is_empty(),
        "give --events DIR and/or --alerts FILE to query"
    );
    if let Some(dir) = &args.events {
        anyhow::ensure!(
            nhiwatch_hunt::is_archive(dir),
            "{} is not an nhiwatch Parquet archive (make one with nhiwatch archive)",
            dir.display()
        );
    }
    let geo: Option<Arc<dyn nhiwatch_core::geo::GeoResolver>> = if config.geoip.databases.is_empty() {
        None
    } else {
        Some(Arc::new(nhiwatch_geo::MmdbResolver::open(&config.geoip.databases)?))
    };
    let opts = nhiwatch_hunt::QueryOptions { events: args.events, alerts: args.alerts, geo };
    let batches = nhiwatch_hunt::run_query(&args.sql, &opts)?;
    let mut stdout = std::io::stdout().lock();
    match args.format {
        RowFormat::Table => writeln!(stdout, "{}", arrow::util::pretty::pretty_format_batches(&batches)?)?,
        RowFormat::Csv => {
            let mut w = arrow::csv::WriterBuilder::new().with_header(true).build(&mut stdout);
            for b in &batches {
                w.write(b)?;
            }
        }
        RowFormat::Json => {
            let mut w = arrow::json::LineDelimitedWriter::new(&mut stdout);
            for b in &batches {
                w.write(b)?;
            }
            w.finish()?;
        }
    }
    Ok(())
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Configuration file (TOML) with [kafka], [[alerts.sinks]], [state], [metrics].
    #[arg(long)]
    config: PathBuf,
    /// Rule directory (repeatable); replaces `[rules] dirs` and the built-in pack.
    #[arg(long = "rules")]
    rules: Vec<PathBuf>,
}

fn run_run(args: RunArgs) -> anyhow::Result<()> {
    use nhiwatch_cli::run::{Flags, RunSettings, run};
    let config = Config::load(&args.config)?;
    let settings = RunSettings::from_config(&config, args.rules)?;
    let flags = Arc::new(Flags::default());
    let metrics = Arc::new(nhiwatch_cli::metrics::Metrics::default());
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    // Signal handlers are installed before the first message is read, so SIGTERM always
    // means "checkpoint and exit", never an abrupt end.
    runtime.block_on(install_signal_handlers(Arc::clone(&flags)))?;
    if let Some(listen) = settings.metrics_listen {
        let listener = std::net::TcpListener::bind(listen).with_context(|| format!("[metrics] listen {listen}"))?;
        listener.set_nonblocking(true)?;
        let metrics = Arc::clone(&metrics);
        runtime.spawn(async move {
            let result = match tokio::net::TcpListener::from_std(listener) {
                Ok(l) => nhiwatch_cli::metrics::serve(l, metrics).await,
                Err(e) => Err(e),
            };
            if let Err(e) = result {
                tracing::error!(error = %e, "metrics endpoint stopped");
            }
        });
        tracing::info!(%listen, "serving /metrics");
    }
    let summary = run(settings, flags, Arc::clone(&metrics))?;
    eprintln!(
        "nhiwatch run: stopped cleanly after {} records, {} alerts, {} dead-lettered",
        summary.events, summary.alerts, summary.dead_lettered
    );
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    Ok(())
}

async fn install_signal_handlers(flags: Arc<nhiwatch_cli::run::Flags>) -> anyhow::Result<()> {
    use std::sync::atomic::Ordering;
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = term.recv() => flags.stop.store(true, Ordering::Relaxed),
                _ = int.recv() => flags.stop.store(true, Ordering::Relaxed),
                _ = hup.recv() => flags.reload.store(true, Ordering::Relaxed),
            }
        }
    });
    Ok(())
}

#[derive(Debug, clap::Args)]
struct PublishArgs {
    /// Bootstrap brokers (`host:port,...`).
    #[arg(long)]
    brokers: String,
    /// Topic to publish to.
    #[arg(long)]
    topic: String,
    /// librdkafka producer property (`key=value`, repeatable), e.g. `security.protocol=SASL_SSL`.
    #[arg(long = "producer-property", short = 'X')]
    properties: Vec<String>,
    /// Only events at or after this time (RFC 3339 or YYYY-MM-DD).
    #[arg(long)]
    since: Option<String>,
    /// Only events before this time (RFC 3339 or YYYY-MM-DD).
    #[arg(long)]
    until: Option<String>,
    /// Archives: files, directories (CloudTrail S3 layout) or `-`.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

fn run_publish(args: PublishArgs) -> anyhow::Result<()> {
    let mut settings = nhiwatch_kafka::KafkaSettings::for_brokers(&args.brokers);
    for p in &args.properties {
        let (k, v) = p.split_once('=').with_context(|| format!("producer property '{p}' is not key=value"))?;
        settings.producer.insert(k.to_string(), nhiwatch_kafka::PropertyValue::Text(v.to_string()));
    }
    let opts = sliced(args.paths, args.since.as_deref(), args.until.as_deref())?;
    let mut stderr = std::io::stderr().lock();
    let (n, summary) = nhiwatch_cli::run::publish(&opts, &settings, &args.topic, &mut stderr)?;
    writeln!(
        stderr,
        "published {n} records to {} ({} bad records skipped, {} outside --since/--until)",
        args.topic,
        summary.bad_total(),
        summary.events_out_of_range
    )?;
    Ok(())
}

#[derive(Debug, clap::Args)]
struct InventoryArgs {
    /// Configuration file (TOML).
    #[arg(long)]
    config: Option<PathBuf>,
    /// GeoIP database (MMDB; repeatable), for countries.
    #[arg(long = "geoip")]
    geoip: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: RowFormat,
    /// Archives: files, directories (CloudTrail S3 layout) or `-`.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

/// Output of the commands that print rows (`inventory`, `query`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum RowFormat {
    /// A readable table.
    Table,
    /// CSV with a header row.
    Csv,
    /// JSON (an array for `inventory`, one object per line for `query`).
    Json,
}

/// Reading `paths` within `--since` / `--until`, with progress on a terminal.
fn sliced(paths: Vec<PathBuf>, since: Option<&str>, until: Option<&str>) -> anyhow::Result<ReplayOptions> {
    Ok(ReplayOptions {
        paths,
        since: since.map(parse_time_arg).transpose().context("--since")?,
        until: until.map(parse_time_arg).transpose().context("--until")?,
        progress: std::io::stderr().is_terminal(),
        ..ReplayOptions::default()
    })
}

/// The configuration file, if any, with `--geoip` databases added.
fn load_config(path: Option<&PathBuf>, geoip: &[PathBuf]) -> anyhow::Result<Config> {
    let mut config = match path {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    config.geoip.databases.extend(geoip.iter().map(|p| p.display().to_string()));
    Ok(config)
}

fn run_inventory(args: InventoryArgs) -> anyhow::Result<()> {
    let config = load_config(args.config.as_ref(), &args.geoip)?;
    let rule_dirs: Vec<PathBuf> = config.rules.dirs.iter().map(PathBuf::from).collect();
    let pack = Arc::new(load_pack(&rule_dirs)?);
    let opts =
        ReplayOptions { paths: args.paths, progress: std::io::stderr().is_terminal(), ..ReplayOptions::default() };
    let rows = nhiwatch_cli::inventory::inventory(&opts, pack, config.engine_config()?, &mut std::io::stderr().lock())?;
    let mut stdout = std::io::stdout().lock();
    match args.format {
        RowFormat::Table => nhiwatch_cli::inventory::write_table(&rows, &mut stdout)?,
        RowFormat::Csv => nhiwatch_cli::inventory::write_csv(&rows, &mut stdout)?,
        RowFormat::Json => {
            serde_json::to_writer_pretty(&mut stdout, &rows)?;
            writeln!(stdout)?;
        }
    }
    Ok(())
}

#[derive(Debug, clap::Args)]
struct BacktestArgs {
    /// The pack under test (directories or files).
    #[arg(long = "rules", required = true)]
    rules: Vec<PathBuf>,
    /// The current pack to compare with (default: the built-in pack).
    #[arg(long = "baseline-rules")]
    baseline_rules: Vec<PathBuf>,
    /// Configuration file (TOML).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Only events at or after this time (RFC 3339 or YYYY-MM-DD).
    #[arg(long)]
    since: Option<String>,
    /// Only events before this time (RFC 3339 or YYYY-MM-DD).
    #[arg(long)]
    until: Option<String>,
    /// Report format.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Archives: files, directories (CloudTrail S3 layout) or `-`.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

fn run_backtest(args: BacktestArgs) -> anyhow::Result<()> {
    let config = load_config(args.config.as_ref(), &[])?;
    let candidate = Arc::new(load_pack(&args.rules)?);
    let current = Arc::new(load_pack(&args.baseline_rules)?);
    let opts = sliced(args.paths, args.since.as_deref(), args.until.as_deref())?;
    let mut stderr = std::io::stderr().lock();
    let report = nhiwatch_cli::backtest::backtest(&opts, candidate, current, config.engine_config()?, &mut stderr)?;
    let mut stdout = std::io::stdout().lock();
    match args.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut stdout, &report)?;
            writeln!(stdout)?;
        }
        Format::Table => nhiwatch_cli::backtest::write_table(&report, &mut stdout)?,
    }
    Ok(())
}

#[derive(Debug, Subcommand)]
enum RulesCommand {
    /// Run every rule's embedded tests (true and false positives, on a simulated clock).
    Test(RulesTestArgs),
    /// Check rule files for mistakes (schema, ids, ATT&CK, regexes, CIDRs, fields, tests).
    Lint(RulesLintArgs),
    /// Write a Markdown catalogue of the pack (id, title, ATT&CK, severity, false positives,
    /// tests).
    Docs(RulesDocsArgs),
}

#[derive(Debug, clap::Args)]
struct RulesLintArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: LintFormat,
    /// Rule directories or files (default: the built-in pack).
    paths: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LintFormat {
    /// `file:line:col: level: message` lines.
    Text,
    /// A JSON array of findings.
    Json,
}

/// Lints the pack; `Ok(false)` when any error was found.
fn run_rules_lint(args: RulesLintArgs) -> anyhow::Result<bool> {
    use nhiwatch_cli::rule_lint;
    let (files, attack) = nhiwatch_cli::pack::pack_sources(&args.paths)?;
    let findings = rule_lint::lint(&files, &attack);
    let mut stdout = std::io::stdout().lock();
    let errors = match args.format {
        LintFormat::Text => rule_lint::print(&findings, &mut stdout)?.0,
        LintFormat::Json => {
            serde_json::to_writer_pretty(&mut stdout, &findings)?;
            writeln!(stdout)?;
            findings.iter().filter(|f| f.level == rule_lint::Level::Error).count()
        }
    };
    Ok(errors == 0)
}

#[derive(Debug, clap::Args)]
struct RulesDocsArgs {
    /// Write the catalogue here instead of standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Rule directories or files (default: the built-in pack).
    paths: Vec<PathBuf>,
}

fn run_rules_docs(args: RulesDocsArgs) -> anyhow::Result<()> {
    let pack = load_pack(&args.paths)?;
    let text = nhiwatch_cli::rule_docs::catalogue(&pack);
    match &args.output {
        Some(path) => std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?,
        None => std::io::stdout().lock().write_all(text.as_bytes())?,
    }
    Ok(())
}

#[derive(Debug, clap::Args)]
struct RulesTestArgs {
    /// GeoIP database for the tests (default: the bundled test database).
    #[arg(long = "geoip")]
    geoip: Vec<PathBuf>,
    /// Also write a JUnit XML report here.
    #[arg(long)]
    junit: Option<PathBuf>,
    /// Rule directories or files (default: the built-in pack).
    paths: Vec<PathBuf>,
}

/// Runs the rule tests; `Ok(false)` when any failed.
fn run_rules_test(args: RulesTestArgs) -> anyhow::Result<bool> {
    use nhiwatch_cli::rule_tests;
    let pack = load_pack(&args.paths)?;
    let geo: Arc<dyn nhiwatch_core::geo::GeoResolver> = if args.geoip.is_empty() {
        rule_tests::test_geoip()?
    } else {
        Arc::new(nhiwatch_geo::MmdbResolver::open(&args.geoip)?)
    };
    let outcomes = rule_tests::run_all(&pack, geo);
    let mut stdout = std::io::stdout().lock();
    let (_, failed) = rule_tests::print_results(&pack, &outcomes, &mut stdout)?;
    if let Some(path) = &args.junit {
        rule_tests::write_junit(&outcomes, path)?;
    }
    Ok(failed == 0)
}

#[derive(Debug, clap::Args)]
struct ReplayArgs {
    /// Configuration file (TOML).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Rule directory (repeatable); replaces the built-in pack.
    #[arg(long = "rules")]
    rules: Vec<PathBuf>,
    /// GeoIP database (MMDB; repeatable). Used by the baseline rules.
    #[arg(long = "geoip")]
    geoip: Vec<PathBuf>,
    /// Write alerts here instead of standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Write the alerts of shadow-mode rules here (otherwise they are only counted).
    #[arg(long)]
    shadow_output: Option<PathBuf>,
    /// Alert format.
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
    /// Only events at or after this time (RFC 3339 or YYYY-MM-DD).
    #[arg(long)]
    since: Option<String>,
    /// Only events before this time (RFC 3339 or YYYY-MM-DD).
    #[arg(long)]
    until: Option<String>,
    /// Stop with an error at the first bad record.
    #[arg(long)]
    strict: bool,
    /// Directory of the engine's state: loaded first, saved at the end, so baselines carry
    /// over between replays.
    #[arg(long)]
    state: Option<PathBuf>,
    /// Start from empty state even if `--state` holds a snapshot (it is replaced).
    #[arg(long, requires = "state")]
    reset_state: bool,
    /// Threads that read and decode files while the engine runs (0: one per core). Alerts
    /// are the same whatever the number.
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Files, directories (CloudTrail S3 layout) or `-` for standard input.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

fn run_replay(args: ReplayArgs) -> anyhow::Result<()> {
    let config = load_config(args.config.as_ref(), &args.geoip)?;
    let mut rule_dirs = args.rules.clone();
    if rule_dirs.is_empty() {
        rule_dirs = config.rules.dirs.iter().map(PathBuf::from).collect();
    }
    let pack = Arc::new(load_pack(&rule_dirs)?);
    for (file, reason) in pack.unsupported() {
        eprintln!("rule not loaded: {file}: unsupported Sigma rule: {reason}");
    }
    let opts = ReplayOptions {
        paths: args.paths,
        strict: args.strict,
        since: args.since.as_deref().map(parse_time_arg).transpose().context("--since")?,
        until: args.until.as_deref().map(parse_time_arg).transpose().context("--until")?,
        decode: Default::default(),
        progress: std::io::stderr().is_terminal(),
        state: args.state,
        reset_state: args.reset_state,
        threads: args.threads,
    };
    let engine_config = config.engine_config()?;
    let mut stderr = std::io::stderr().lock();
    let report = replay(&opts, pack, engine_config, &mut stderr)?;
    match &args.output {
        Some(path) => {
            let file = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
            let mut w = std::io::BufWriter::new(file);
            write_alerts(&report.alerts, args.format, &mut w)?;
        }
        None => {
            let mut w = std::io::BufWriter::new(std::io::stdout().lock());
            write_alerts(&report.alerts, args.format, &mut w)?;
        }
    }
    if let Some(path) = &args.shadow_output {
        let file = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
        write_alerts(&report.shadow_alerts, Format::Json, &mut std::io::BufWriter::new(file))?;
    }
    report.summary.write_to(&mut stderr)?;
    stderr.flush()?;
    Ok(())
}

/// True for a write to a closed pipe, however it is wrapped.
fn is_broken_pipe(e: &(dyn std::error::Error + 'static)) -> bool {
    let kind = e
        .downcast_ref::<std::io::Error>()
        .map(std::io::Error::kind)
        .or_else(|| e.downcast_ref::<serde_json::Error>().and_then(serde_json::Error::io_error_kind));
    kind == Some(std::io::ErrorKind::BrokenPipe)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // `run` is a service: it says what it does at info level; the batch commands stay quiet.
    let default_level = if matches!(cli.command, Command::Run(_)) { "info" } else { "error" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("NHIWATCH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
    let result = match cli.command {
        Command::Run(args) => run_run(args),
        Command::Publish(args) => run_publish(args),
        Command::Archive(args) => run_archive(args),
        Command::Query(args) => run_query(args),
        Command::Baseline(BaselineCommand::Build(args)) => run_baseline_build(args),
        Command::Replay(args) => run_replay(args),
        Command::Backtest(args) => run_backtest(args),
        Command::Inventory(args) => run_inventory(args),
        Command::Rules(RulesCommand::Docs(args)) => run_rules_docs(args),
        Command::Rules(RulesCommand::Lint(args)) => match run_rules_lint(args) {
            Ok(true) => Ok(()),
            Ok(false) => return ExitCode::FAILURE,
            Err(e) => Err(e),
        },
        Command::Rules(RulesCommand::Test(args)) => match run_rules_test(args) {
            Ok(true) => Ok(()),
            Ok(false) => return ExitCode::FAILURE,
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`nhiwatch replay … | head`): nothing is wrong with the run.
        Err(e) if e.chain().any(is_broken_pipe) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nhiwatch: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
