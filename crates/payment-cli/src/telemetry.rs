//! OpenTelemetry export (feature `otel`): when the standard environment asks for it
//! (`OTEL_EXPORTER_OTLP_ENDPOINT`, or the per-signal `…_TRACES_ENDPOINT` / `…_METRICS_ENDPOINT`),
//! the library's spans and metrics go out over OTLP/HTTP, `http/protobuf` (default) or
//! `http/json` (`OTEL_EXPORTER_OTLP_PROTOCOL`), as `OTEL_SERVICE_NAME` (default `payment`).
//! Everything is flushed before the command exits.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;

/// The exporters of one command run; [`Export::shutdown`] flushes them.
pub struct Export {
    tracer: SdkTracerProvider,
    meter: SdkMeterProvider,
}

/// Whether the environment asks for export, the way the SDKs read it.
fn wanted() -> bool {
    let set = |name: &str| std::env::var(name).is_ok_and(|v| !v.trim().is_empty());
    let disabled = std::env::var("OTEL_SDK_DISABLED").is_ok_and(|v| v.trim().eq_ignore_ascii_case("true"));
    !disabled
        && (set("OTEL_EXPORTER_OTLP_ENDPOINT")
            || set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            || set("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"))
}

/// `OTEL_EXPORTER_OTLP_PROTOCOL` (then the per-signal one), `http/protobuf` when unset.
fn protocol(signal: &str) -> Result<Protocol, String> {
    let name = format!("OTEL_EXPORTER_OTLP_{signal}_PROTOCOL");
    let value = std::env::var(&name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .or_else(|| std::env::var("OTEL_EXPORTER_OTLP_PROTOCOL").ok().filter(|v| !v.trim().is_empty()));
    match value.as_deref().map(str::trim) {
        None | Some("http/protobuf") => Ok(Protocol::HttpBinary),
        Some("http/json") => Ok(Protocol::HttpJson),
        Some("grpc") => Err(format!(
            "{name} or OTEL_EXPORTER_OTLP_PROTOCOL is grpc, which this build does not export: use http/protobuf or http/json"
        )),
        Some(other) => Err(format!(
            "OTEL_EXPORTER_OTLP_PROTOCOL {other:?} is not one of http/protobuf, http/json (grpc is not built in)"
        )),
    }
}

/// The exporters the environment asks for, installed as OpenTelemetry's global meter provider;
/// `None` when it asks for none. Called before the async runtime starts: the exporters send
/// from threads of their own, over a blocking HTTP client.
pub fn from_env() -> Result<Option<Export>, String> {
    if !wanted() {
        return Ok(None);
    }
    let resource = match std::env::var("OTEL_SERVICE_NAME") {
        Ok(name) if !name.trim().is_empty() => Resource::builder().build(),
        _ => Resource::builder().with_service_name("payment").build(),
    };
    let spans = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(protocol("TRACES")?)
        .build()
        .map_err(|e| format!("cannot export traces: {e}"))?;
    let metrics = opentelemetry_otlp::MetricExporter::builder()
        .with_http()
        .with_protocol(protocol("METRICS")?)
        .build()
        .map_err(|e| format!("cannot export metrics: {e}"))?;
    let tracer = SdkTracerProvider::builder().with_resource(resource.clone()).with_batch_exporter(spans).build();
    let meter = SdkMeterProvider::builder().with_resource(resource).with_periodic_exporter(metrics).build();
    opentelemetry::global::set_meter_provider(meter.clone());
    Ok(Some(Export { tracer, meter }))
}

impl Export {
    /// The `tracing` layer that turns the library's spans into OpenTelemetry spans: `info` and
    /// above of the `payment` targets (the attempt log lines at `debug` stay on stderr).
    pub fn layer<S>(&self) -> impl tracing_subscriber::Layer<S> + use<S>
    where
        S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    {
        use tracing_subscriber::Layer as _;
        let filter: tracing_subscriber::filter::Targets = [("payment", tracing::Level::INFO)].into_iter().collect();
        tracing_opentelemetry::layer().with_tracer(self.tracer.tracer("payment")).with_filter(filter)
    }

    /// Flushes and stops both exporters; what could not be sent is said on stderr.
    pub fn shutdown(self) {
        if let Err(e) = self.tracer.shutdown() {
            eprintln!("warning: OpenTelemetry traces were not all exported: {e}");
        }
        if let Err(e) = self.meter.shutdown() {
            eprintln!("warning: OpenTelemetry metrics were not all exported: {e}");
        }
    }
}
