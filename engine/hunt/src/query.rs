//! SQL over an archive (`events`) and alert files (`alerts`) with DataFusion.
//!
//! Helper functions where SQL is clumsy, resolved with the configured GeoIP databases:
//! `geo_country(ip)`, `geo_city(ip)`, `geo_asn(ip)` (a number) and `geo_org(ip)`; NULL for
//! addresses no database knows (private ones, service hosts).

use crate::HuntError;
use arrow::array::{Array, ArrayRef, StringArray, StringBuilder, UInt32Builder};
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use datafusion::logical_expr::{ColumnarValue, Volatility, create_udf};
use datafusion::prelude::{JsonReadOptions, ParquetReadOptions, SessionContext};
use nhiwatch_core::geo::{GeoInfo, GeoResolver};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// What to query.
#[derive(Debug, Default, Clone)]
pub struct QueryOptions {
    /// A Parquet archive written by `nhiwatch archive` (table `events`).
    pub events: Option<PathBuf>,
    /// Alert files, JSON Lines as `replay` and `run` write them (table `alerts`).
    pub alerts: Vec<PathBuf>,
    /// GeoIP databases for the `geo_*` functions.
    pub geo: Option<Arc<dyn GeoResolver>>,
}

fn lookup(geo: &Option<Arc<dyn GeoResolver>>, text: &str) -> Option<GeoInfo> {
    let ip: IpAddr = nhiwatch_core::ip::parse_ip_lenient(text.trim())?.ip;
    geo.as_ref()?.resolve(ip)
}

fn register_geo(ctx: &SessionContext, geo: Option<Arc<dyn GeoResolver>>) {
    type Pick = fn(&GeoInfo) -> Option<String>;
    let text_functions: [(&str, Pick); 3] =
        [("geo_country", |g| g.country.clone()), ("geo_city", |g| g.city.clone()), ("geo_org", |g| g.as_org.clone())];
    for (name, pick) in text_functions {
        let geo = geo.clone();
        let f = move |args: &[ColumnarValue]| -> datafusion::error::Result<ColumnarValue> {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let ips = arrays[0].as_any().downcast_ref::<StringArray>().ok_or_else(|| {
                datafusion::error::DataFusionError::Execution("expects an address as text".to_string())
            })?;
            let mut out = StringBuilder::with_capacity(ips.len(), ips.len() * 4);
            for i in 0..ips.len() {
                out.append_option(ips.is_valid(i).then(|| lookup(&geo, ips.value(i)).and_then(|g| pick(&g))).flatten());
            }
            Ok(ColumnarValue::Array(Arc::new(out.finish()) as ArrayRef))
        };
        ctx.register_udf(create_udf(name, vec![DataType::Utf8], DataType::Utf8, Volatility::Immutable, Arc::new(f)));
    }
    let f = move |args: &[ColumnarValue]| -> datafusion::error::Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(args)?;
        let ips = arrays[0]
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| datafusion::error::DataFusionError::Execution("expects an address as text".to_string()))?;
        let mut out = UInt32Builder::with_capacity(ips.len());
        for i in 0..ips.len() {
            out.append_option(ips.is_valid(i).then(|| lookup(&geo, ips.value(i)).and_then(|g| g.asn)).flatten());
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish()) as ArrayRef))
    };
    ctx.register_udf(create_udf("geo_asn", vec![DataType::Utf8], DataType::UInt32, Volatility::Immutable, Arc::new(f)));
}

async fn session(opts: &QueryOptions) -> Result<SessionContext, HuntError> {
    let ctx = SessionContext::new();
    let fail = |e: datafusion::error::DataFusionError| HuntError::Query(e.to_string());
    if let Some(dir) = &opts.events {
        let path = format!("{}/", dir.display().to_string().trim_end_matches('/'));
        let read = ParquetReadOptions::default()
            .table_partition_cols(vec![("date".to_string(), DataType::Utf8), ("account".to_string(), DataType::Utf8)]);
        ctx.register_parquet("events", &path, read).await.map_err(fail)?;
    }
    if !opts.alerts.is_empty() {
        let paths: Vec<String> = opts.alerts.iter().map(|p| p.display().to_string()).collect();
        let ext = opts
            .alerts
            .first()
            .and_then(|p| p.extension())
            .map(|e| format!(".{}", e.to_string_lossy()))
            .unwrap_or_default();
        let df = ctx.read_json(paths, JsonReadOptions::default().file_extension(&ext)).await.map_err(fail)?;
        ctx.register_table("alerts", df.into_view()).map_err(fail)?;
    }
    register_geo(&ctx, opts.geo.clone());
    Ok(ctx)
}

/// Runs `sql` and returns its result batches.
pub fn run_query(sql: &str, opts: &QueryOptions) -> Result<Vec<RecordBatch>, HuntError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| HuntError::Query(format!("starting the query runtime: {e}")))?;
    runtime.block_on(async {
        let ctx = session(opts).await?;
        let df = ctx.sql(sql).await.map_err(|e| HuntError::Query(e.to_string()))?;
        df.collect().await.map_err(|e| HuntError::Query(e.to_string()))
    })
}
