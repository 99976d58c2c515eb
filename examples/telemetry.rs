//! A Lambda extension that subscribes to the Telemetry API's platform events and prints each
//! `platform.report`'s metrics as one line (to its stdout, which Lambda sends to the
//! function's log group), then exits after `SHUTDOWN`.
use lambda_lite::Error;
use lambda_lite::extension::{
    Event, Extension, TelemetryRecord, TelemetrySubscription, TelemetryType,
};

fn subscribe(extension: &mut Extension) -> Result<(), Error> {
    let subscription = TelemetrySubscription::default().types(&[TelemetryType::Platform]);
    extension.subscribe_telemetry(&subscription, |telemetry| {
        if let TelemetryRecord::PlatformReport(report) = telemetry.record {
            let m = report.metrics;
            println!(
                "report {} {}: duration {:.2} ms, billed {} ms, memory {}/{} MB{}",
                report.request_id,
                report.status,
                m.duration_ms,
                m.billed_duration_ms,
                m.max_memory_used_mb,
                m.memory_size_mb,
                m.init_duration_ms
                    .map(|i| format!(", init {i:.2} ms"))
                    .unwrap_or_default()
            );
        }
    })?;
    Ok(())
}

fn on_event(_: &mut (), _event: Event) -> Result<(), Error> {
    Ok(())
}

lambda_lite::extension_main!(init = subscribe, handler = on_event);
